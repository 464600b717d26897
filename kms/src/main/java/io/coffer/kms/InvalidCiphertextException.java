package io.coffer.kms;

/** A wrapped key could not be parsed or failed authentication (tampered, truncated, wrong encryption context, or wrapped under a different key). The KMS fails closed: it never returns unauthenticated bytes. */
public class InvalidCiphertextException extends KmsException {
  private static final long serialVersionUID = 1L;

  public InvalidCiphertextException(String message) {
    super(message);
  }

  public InvalidCiphertextException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public String code() {
    return "InvalidCiphertext";
  }
}
