package io.coffer.kms.local;

import io.coffer.kms.KmsException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * Where the local provider's 256-bit root key comes from. The root key encrypts every local key
 * version at rest; it never leaves the process.
 *
 * <ul>
 *   <li>{@link #file(Path)}: 32 random bytes in a file created on first use with mode 0600. The
 *       KMS refuses to start if the file grants any permission to group or others.
 *   <li>{@link #passphrase(char[])}: derived with Argon2id from a passphrase; the salt and the
 *       cost parameters are stored in {@code <keystore>/root-kdf.json} with a check value, so a
 *       wrong passphrase is refused at start instead of failing every decryption later.
 * </ul>
 */
public abstract class RootKeySource {

  RootKeySource() {}

  /** A root key file, created (mode 0600) if missing. */
  public static RootKeySource file(Path file) {
    return new RootKeyFile(Objects.requireNonNull(file));
  }

  /** A passphrase-derived root key with {@link Argon2Params#DEFAULT}. The array is copied. */
  public static RootKeySource passphrase(char[] passphrase) {
    return passphrase(passphrase, Argon2Params.DEFAULT);
  }

  /** A passphrase-derived root key; {@code params} apply only when the keystore is new. */
  public static RootKeySource passphrase(char[] passphrase, Argon2Params params) {
    Objects.requireNonNull(passphrase);
    return new PassphraseRootKey(Arrays.copyOf(passphrase, passphrase.length), Objects.requireNonNull(params));
  }

  /** Loads (or creates) the root key for the keystore in {@code keystoreDir}; caller closes it. */
  abstract KeyMaterial load(Path keystoreDir) throws KmsException;
}
