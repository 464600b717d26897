package io.coffer.kms;

/** The request would create something that already exists, such as an alias that is taken. */
public class AlreadyExistsException extends InvalidRequestException {
  private static final long serialVersionUID = 1L;

  public AlreadyExistsException(String message) {
    super(message);
  }

  public AlreadyExistsException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public String code() {
    return "AlreadyExists";
  }
}
