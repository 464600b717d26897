package io.coffer.kms;

/** The request is malformed or violates a rule (alias syntax, pending window out of range, unknown provider, ...). */
public class InvalidRequestException extends KmsException {
  private static final long serialVersionUID = 1L;

  public InvalidRequestException(String message) {
    super(message);
  }

  public InvalidRequestException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public String code() {
    return "InvalidRequest";
  }
}
