package io.coffer.kms;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The root key file: created owner-only, refused when others can touch it. */
class RootKeyFileTest {
  @TempDir Path tmp;

  Path keystore() {
    return tmp.resolve("kms");
  }

  @Test
  void createdOnFirstUseWithMode0600() throws Exception {
    try (Kms kms = Kms.builder().keystoreDir(keystore()).build()) {
      kms.defaultKey();
    }
    Path root = keystore().resolve("root.key");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(root)));
    assertEquals(32, Files.size(root));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keystore())));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keystore().resolve("catalog.json"))));
  }

  @ParameterizedTest
  @ValueSource(strings = {"rw-r-----", "rw----r--", "rw--w----", "rw------x", "rwxrwxrwx"})
  void refusedWhenGroupOrOthersHaveAnyPermission(String mode) throws Exception {
    byte[] wrapped;
    byte[] plain;
    try (Kms kms = Kms.builder().keystoreDir(keystore()).build();
        DataKey dk = kms.generateDataKey(Kms.DEFAULT_KEY_ALIAS, Map.of(), "fs")) {
      wrapped = dk.wrapped();
      plain = dk.plaintext();
    }
    Path root = keystore().resolve("root.key");
    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString(mode));
    KmsConfigurationException e = assertThrows(KmsConfigurationException.class,
        () -> Kms.builder().keystoreDir(keystore()).build());
    assertTrue(e.getMessage().contains("chmod 600") && e.getMessage().contains(root.toString()), e.getMessage());

    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rw-------"));
    try (Kms kms = Kms.builder().keystoreDir(keystore()).build(); DataKey back = kms.decrypt(wrapped, Map.of(), "fs")) {
      assertArrayEquals(plain, back.plaintext());
    }
  }

  @Test
  void refusedWhenTheSizeIsWrong() throws Exception {
    Files.createDirectories(keystore());
    Path root = keystore().resolve("root.key");
    Files.write(root, new byte[31]);
    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rw-------"));
    KmsConfigurationException e = assertThrows(KmsConfigurationException.class,
        () -> Kms.builder().keystoreDir(keystore()).build());
    assertTrue(e.getMessage().contains("32"), e.getMessage());
  }

  @Test
  void refusedWhenItIsASymlink() throws Exception {
    Files.createDirectories(keystore());
    Path real = tmp.resolve("real.key");
    Files.write(real, new byte[32]);
    Files.setPosixFilePermissions(real, PosixFilePermissions.fromString("rw-------"));
    Files.createSymbolicLink(keystore().resolve("root.key"), real);
    assertThrows(KmsConfigurationException.class, () -> Kms.builder().keystoreDir(keystore()).build());
  }

  @Test
  void aMissingRootKeyIsNotSilentlyReplacedWhenKeysExist() throws Exception {
    try (Kms kms = Kms.builder().keystoreDir(keystore()).build()) {
      kms.createKey(CreateKeyRequest.of("k"), "admin");
    }
    Files.delete(keystore().resolve("root.key"));
    KmsConfigurationException e = assertThrows(KmsConfigurationException.class,
        () -> Kms.builder().keystoreDir(keystore()).build());
    assertTrue(e.getMessage().contains("missing"), e.getMessage());
  }

  @Test
  void anotherRootKeyCannotOpenTheKeys() throws Exception {
    byte[] wrapped;
    try (Kms kms = Kms.builder().keystoreDir(keystore()).build();
        DataKey dk = kms.generateDataKey(Kms.DEFAULT_KEY_ALIAS, Map.of(), "fs")) {
      wrapped = dk.wrapped();
    }
    Path root = keystore().resolve("root.key");
    Files.write(root, new byte[32]);
    try (Kms kms = Kms.builder().keystoreDir(keystore()).build()) {
      KmsConfigurationException e = assertThrows(KmsConfigurationException.class, () -> kms.decrypt(wrapped, Map.of(), "fs"));
      assertTrue(e.getMessage().contains("root key"), e.getMessage());
    }
  }

  @Test
  void anExplicitRootKeyFileOutsideTheKeystore() throws Exception {
    Path root = tmp.resolve("secrets/root.key");
    try (Kms kms = Kms.builder().keystoreDir(keystore()).rootKey(io.coffer.kms.local.RootKeySource.file(root)).build()) {
      kms.defaultKey();
    }
    assertTrue(Files.exists(root));
    assertTrue(Files.notExists(keystore().resolve("root.key")));
  }
}
