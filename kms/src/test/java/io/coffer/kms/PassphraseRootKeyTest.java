package io.coffer.kms;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.coffer.kms.local.Argon2Params;
import io.coffer.kms.local.RootKeySource;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The passphrase root key: Argon2id with stored salt and parameters. */
class PassphraseRootKeyTest {
  static final Argon2Params CHEAP = new Argon2Params(8 * 1024, 2, 1);
  @TempDir Path tmp;

  Kms open(Path keystore, String passphrase, Argon2Params params) throws KmsException {
    return Kms.builder().keystoreDir(keystore).rootKey(RootKeySource.passphrase(passphrase.toCharArray(), params)).build();
  }

  @Test
  void storesSaltAndParametersAndReopensWithTheSamePassphrase() throws Exception {
    Path ks = tmp.resolve("kms");
    byte[] wrapped;
    byte[] plain;
    try (Kms kms = open(ks, "correct horse battery staple", CHEAP);
        DataKey dk = kms.generateDataKey(Kms.DEFAULT_KEY_ALIAS, Map.of("a", "b"), "fs")) {
      wrapped = dk.wrapped();
      plain = dk.plaintext();
    }
    assertTrue(Files.notExists(ks.resolve("root.key")), "no key file in passphrase mode");
    JsonNode kdf = new ObjectMapper().readTree(ks.resolve("root-kdf.json").toFile());
    assertEquals("argon2id", kdf.path("kdf").asText());
    assertEquals(8192, kdf.path("memoryKiB").asInt());
    assertEquals(2, kdf.path("iterations").asInt());
    assertEquals(1, kdf.path("parallelism").asInt());
    byte[] salt = Base64.getDecoder().decode(kdf.path("salt").asText());
    assertEquals(16, salt.length);

    // The stored check value is exactly HMAC(Argon2id(passphrase, salt, params), label): the
    // stored salt and parameters are the ones really used.
    Argon2BytesGenerator gen = new Argon2BytesGenerator();
    gen.init(new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id).withVersion(Argon2Parameters.ARGON2_VERSION_13)
        .withSalt(salt).withMemoryAsKB(8192).withIterations(2).withParallelism(1).build());
    byte[] key = new byte[32];
    gen.generateBytes("correct horse battery staple".getBytes(StandardCharsets.UTF_8), key);
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key, "HmacSHA256"));
    assertArrayEquals(mac.doFinal("coffer-kms/root-key-check/v1".getBytes(StandardCharsets.US_ASCII)),
        Base64.getDecoder().decode(kdf.path("check").asText()));

    // Parameters given on reopen are ignored in favour of the stored ones.
    try (Kms kms = open(ks, "correct horse battery staple", Argon2Params.DEFAULT);
        DataKey back = kms.decrypt(wrapped, Map.of("a", "b"), "fs")) {
      assertArrayEquals(plain, back.plaintext());
    }
  }

  @Test
  void aWrongPassphraseIsRefusedAtStart() throws Exception {
    Path ks = tmp.resolve("kms");
    try (Kms kms = open(ks, "right", CHEAP)) {
      kms.defaultKey();
    }
    KmsAccessDeniedException e = assertThrows(KmsAccessDeniedException.class, () -> open(ks, "wrong", CHEAP));
    assertTrue(e.getMessage().contains("passphrase"), e.getMessage());
    assertThrows(KmsConfigurationException.class, () -> open(ks, "", CHEAP));
  }

  @Test
  void eachKeystoreGetsItsOwnSalt() throws Exception {
    try (Kms a = open(tmp.resolve("a"), "same", CHEAP); Kms b = open(tmp.resolve("b"), "same", CHEAP)) {
      a.defaultKey();
      b.defaultKey();
    }
    ObjectMapper json = new ObjectMapper();
    assertNotEquals(json.readTree(tmp.resolve("a/root-kdf.json").toFile()).path("salt").asText(),
        json.readTree(tmp.resolve("b/root-kdf.json").toFile()).path("salt").asText());
  }

  @Test
  void theParameterFileCannotBeDroppedWhileKeysExist() throws Exception {
    Path ks = tmp.resolve("kms");
    try (Kms kms = open(ks, "pw", CHEAP)) {
      kms.createKey(CreateKeyRequest.of("k"), "admin");
    }
    Files.delete(ks.resolve("root-kdf.json"));
    assertThrows(KmsConfigurationException.class, () -> open(ks, "pw", CHEAP));
  }

  @Test
  void weakParametersAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> new Argon2Params(512, 1, 1));
    assertThrows(IllegalArgumentException.class, () -> new Argon2Params(8192, 0, 1));
    assertThrows(IllegalArgumentException.class, () -> new Argon2Params(8192, 1, 0));
  }
}
