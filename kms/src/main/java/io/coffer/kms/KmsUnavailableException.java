package io.coffer.kms;

/**
 * A remote key service (or token) could not be reached, or answered nothing usable, after the
 * bounded retries were spent. Retryable: the same request may succeed later. The KMS never
 * falls back to another key or skips encryption when this happens.
 */
public class KmsUnavailableException extends KmsException {
  private static final long serialVersionUID = 1L;

  public KmsUnavailableException(String message) {
    super(message);
  }

  public KmsUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public String code() {
    return "KmsUnavailable";
  }

  @Override
  public boolean isRetryable() {
    return true;
  }
}
