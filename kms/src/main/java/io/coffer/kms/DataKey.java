package io.coffer.kms;

import java.util.Arrays;
import java.util.Objects;
import java.util.UUID;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import javax.security.auth.Destroyable;

/**
 * A 256-bit AES data key in two forms: plaintext, for encrypting data now, and wrapped under a
 * customer master key, for storing next to that data.
 *
 * <p>Close (or destroy) it as soon as the plaintext is no longer needed: that zeroes the copy
 * this object holds. Accessors return fresh copies, which the caller owns and should zero.
 * {@link #toString()} never prints key bytes.
 *
 * <p>Thread-safe: destroy may race with readers, who then get {@link IllegalStateException}.
 */
public final class DataKey implements AutoCloseable, Destroyable {
  private final UUID keyId;
  private final int keyVersion;
  private final String keyUri;
  private final byte[] wrapped;
  private byte[] plaintext; // guarded by this

  /**
   * Copies both arrays; the caller keeps (and should zero) its own plaintext.
   *
   * @param keyId the master key the data key is wrapped under
   * @param keyVersion the master key's version used
   * @param keyUri the master key's URI
   * @param plaintext the data key bytes
   * @param wrapped the wrapped form, as {@link Kms#decrypt} accepts it
   */
  public DataKey(UUID keyId, int keyVersion, String keyUri, byte[] plaintext, byte[] wrapped) {
    this.keyId = Objects.requireNonNull(keyId, "keyId");
    this.keyVersion = keyVersion;
    this.keyUri = Objects.requireNonNull(keyUri, "keyUri");
    this.plaintext = Objects.requireNonNull(plaintext, "plaintext").clone();
    this.wrapped = Objects.requireNonNull(wrapped, "wrapped").clone();
  }

  public UUID keyId() {
    return keyId;
  }

  public int keyVersion() {
    return keyVersion;
  }

  public String keyUri() {
    return keyUri;
  }

  /** The wrapped form, safe to store; a fresh copy. */
  public byte[] wrapped() {
    return wrapped.clone();
  }

  /**
   * The plaintext key bytes, a fresh copy the caller must zero when done.
   *
   * @throws IllegalStateException after {@link #close()}
   */
  public synchronized byte[] plaintext() {
    return live().clone();
  }

  /**
   * The plaintext as an AES {@link SecretKey}. The JCE copies key bytes into such objects and
   * cannot zero them on demand, so prefer short-lived use.
   *
   * @throws IllegalStateException after {@link #close()}
   */
  public synchronized SecretKey secretKey() {
    return new SecretKeySpec(live(), "AES");
  }

  private byte[] live() {
    if (plaintext == null) {
      throw new IllegalStateException("data key for " + keyId + " v" + keyVersion + " was destroyed");
    }
    return plaintext;
  }

  /** Zeroes the plaintext held here. Idempotent. */
  @Override
  public synchronized void destroy() {
    if (plaintext != null) {
      Arrays.fill(plaintext, (byte) 0);
      plaintext = null;
    }
  }

  @Override
  public synchronized boolean isDestroyed() {
    return plaintext == null;
  }

  @Override
  public void close() {
    destroy();
  }

  @Override
  public String toString() {
    return "DataKey[keyId=" + keyId + ", keyVersion=" + keyVersion + ", wrappedLength="
        + wrapped.length + (isDestroyed() ? ", destroyed" : "") + "]";
  }
}
