package io.coffer.kms.local;

import java.util.Arrays;
import javax.crypto.spec.SecretKeySpec;
import javax.security.auth.Destroyable;

/**
 * Secret key bytes that can be zeroed. {@code toString} prints the length only.
 *
 * <p>{@link #spec()} hands the JCE a {@link SecretKeySpec}, which copies the bytes; the JDK
 * offers no way to zero those copies, which is why specs are made per use and not kept.
 */
final class KeyMaterial implements AutoCloseable, Destroyable {
  private byte[] bytes;

  /** Takes ownership of {@code bytes} (does not copy). */
  KeyMaterial(byte[] bytes) {
    this.bytes = bytes;
  }

  synchronized SecretKeySpec spec(String algorithm) {
    if (bytes == null) {
      throw new IllegalStateException("key material was destroyed");
    }
    return new SecretKeySpec(bytes, algorithm);
  }

  synchronized int length() {
    return bytes == null ? 0 : bytes.length;
  }

  @Override
  public synchronized void destroy() {
    if (bytes != null) {
      Arrays.fill(bytes, (byte) 0);
      bytes = null;
    }
  }

  @Override
  public synchronized boolean isDestroyed() {
    return bytes == null;
  }

  @Override
  public void close() {
    destroy();
  }

  @Override
  public String toString() {
    return "KeyMaterial[" + length() * 8 + " bits" + (isDestroyed() ? ", destroyed" : "") + "]";
  }
}
