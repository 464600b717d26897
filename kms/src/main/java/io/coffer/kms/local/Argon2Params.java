package io.coffer.kms.local;

/**
 * Argon2id cost parameters for deriving the root key from a passphrase. They are stored next to
 * the salt on first use; later opens read the stored ones, so changing these does not re-key an
 * existing keystore.
 *
 * @param memoryKiB memory cost in KiB, at least 1024
 * @param iterations time cost, at least 1
 * @param parallelism lanes, 1 to 16
 */
public record Argon2Params(int memoryKiB, int iterations, int parallelism) {
  /** 64 MiB, 3 passes, 1 lane: above OWASP's Argon2id minimum, about a second here. */
  public static final Argon2Params DEFAULT = new Argon2Params(64 * 1024, 3, 1);

  public Argon2Params {
    if (memoryKiB < 1024) {
      throw new IllegalArgumentException("Argon2 memory must be at least 1024 KiB");
    }
    if (iterations < 1) {
      throw new IllegalArgumentException("Argon2 iterations must be at least 1");
    }
    if (parallelism < 1 || parallelism > 16) {
      throw new IllegalArgumentException("Argon2 parallelism must be 1 to 16");
    }
  }
}
