package io.coffer.kms;

/** A key, key version or alias that the request names does not exist (or no longer exists). */
public class NotFoundException extends KmsException {
  private static final long serialVersionUID = 1L;

  public NotFoundException(String message) {
    super(message);
  }

  public NotFoundException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public String code() {
    return "NotFound";
  }
}
