package io.coffer.kms.local;

import io.coffer.kms.KmsConfigurationException;
import io.coffer.kms.KmsException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A root key kept as 32 raw bytes in a file only its owner may access. */
final class RootKeyFile extends RootKeySource {
  static final int KEY_BYTES = 32;
  private static final Logger LOG = LoggerFactory.getLogger(RootKeyFile.class);
  private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.of(
      PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
      PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

  private final Path file;

  RootKeyFile(Path file) {
    this.file = file;
  }

  @Override
  KeyMaterial load(Path keystoreDir) throws KmsException {
    try {
      if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
        if (LocalKeyProvider.hasSealedKeys(keystoreDir)) {
          // A fresh root key would silently orphan every existing key; refuse instead.
          throw new KmsConfigurationException("root key file " + file + " is missing but the keystore "
              + keystoreDir + " holds keys sealed under a root key: restore the file");
        }
        byte[] key = new byte[KEY_BYTES];
        new SecureRandom().nextBytes(key);
        AtomicFiles.createDirectories(file.toAbsolutePath().getParent());
        AtomicFiles.write(file, key);
        LOG.info("created a new root key file {} (mode 0600)", file);
        return new KeyMaterial(key);
      }
      checkPermissions(file);
      byte[] key = Files.readAllBytes(file);
      if (key.length != KEY_BYTES) {
        Arrays.fill(key, (byte) 0);
        throw new KmsConfigurationException("root key file " + file + " must hold exactly " + KEY_BYTES
            + " bytes, it holds " + key.length);
      }
      return new KeyMaterial(key);
    } catch (NoSuchFileException e) {
      throw new KmsConfigurationException("root key file " + file + " vanished while being read", e);
    } catch (IOException e) {
      throw new KmsConfigurationException("cannot read the root key file " + file + ": " + e.getMessage(), e);
    }
  }

  static void checkPermissions(Path file) throws IOException, KmsConfigurationException {
    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      throw new KmsConfigurationException("root key file " + file + " is not a regular file (symlinks are refused)");
    }
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
    Set<PosixFilePermission> excess = EnumSet.copyOf(GROUP_OR_OTHERS);
    excess.retainAll(perms);
    if (!excess.isEmpty()) {
      throw new KmsConfigurationException("refusing to use root key file " + file + ": its mode "
          + PosixFilePermissions.toString(perms) + " lets group or others access it; run chmod 600 " + file);
    }
  }

  @Override
  public String toString() {
    return "RootKeySource.file(" + file + ")";
  }
}
