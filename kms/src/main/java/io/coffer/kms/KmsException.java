package io.coffer.kms;

/**
 * Root of every failure the KMS reports. Callers switch on the concrete subclass (or on
 * {@link #code()}, which is stable and meant for the wire), never on the message text.
 *
 * <p>The set of subclasses is closed on purpose: a status cannot be invented ad hoc, and the
 * server's RPC layer maps each code in exactly one place.
 */
public abstract class KmsException extends Exception {
  private static final long serialVersionUID = 1L;

  protected KmsException(String message) {
    super(message);
  }

  protected KmsException(String message, Throwable cause) {
    super(message, cause);
  }

  /** A stable, wire-safe name for this kind of failure, e.g. {@code "NotFound"}. */
  public abstract String code();

  /** Whether repeating the same request later may succeed without any change by the caller. */
  public boolean isRetryable() {
    return false;
  }
}
