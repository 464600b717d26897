package io.coffer.kms;

/** The request is well formed but not permitted, for instance managing a service-managed key or using the reserved {@code alias/coffer/} prefix. */
public class KmsAccessDeniedException extends KmsException {
  private static final long serialVersionUID = 1L;

  public KmsAccessDeniedException(String message) {
    super(message);
  }

  public KmsAccessDeniedException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public String code() {
    return "AccessDenied";
  }
}
