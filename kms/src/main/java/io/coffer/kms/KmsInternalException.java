package io.coffer.kms;

/** An unexpected failure inside the KMS or a provider that is neither the caller's fault nor known to be transient. */
public class KmsInternalException extends KmsException {
  private static final long serialVersionUID = 1L;

  public KmsInternalException(String message) {
    super(message);
  }

  public KmsInternalException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public String code() {
    return "Internal";
  }
}
