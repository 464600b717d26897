package io.coffer.kms.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.coffer.kms.KmsAccessDeniedException;
import io.coffer.kms.KmsConfigurationException;
import io.coffer.kms.KmsException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Mac;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A root key derived from a passphrase with Argon2id (memory-hard, so guessing costs memory as
 * well as time). Stored beside the keystore, in {@code root-kdf.json}: the salt, the parameters,
 * and an HMAC of a fixed label under the derived key, which tells a wrong passphrase apart from
 * a corrupt keystore without revealing anything about the key.
 *
 * <p>The passphrase copy held here is zeroed after the first load; a source is single-use.
 */
final class PassphraseRootKey extends RootKeySource {
  static final String FILE_NAME = "root-kdf.json";
  private static final Logger LOG = LoggerFactory.getLogger(PassphraseRootKey.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final byte[] CHECK_LABEL = "coffer-kms/root-key-check/v1".getBytes(StandardCharsets.US_ASCII);
  private static final int SALT_BYTES = 16;

  private final char[] passphrase;
  private final Argon2Params params;
  private boolean consumed;

  PassphraseRootKey(char[] passphrase, Argon2Params params) {
    this.passphrase = passphrase;
    this.params = params;
  }

  @Override
  synchronized KeyMaterial load(Path keystoreDir) throws KmsException {
    if (consumed) {
      throw new IllegalStateException("a passphrase root key source can be loaded once; make a new one");
    }
    consumed = true;
    try {
      if (passphrase.length == 0) {
        throw new KmsConfigurationException("the root key passphrase is empty");
      }
      Path file = keystoreDir.resolve(FILE_NAME);
      byte[] stored;
      try {
        stored = Files.readAllBytes(file);
      } catch (NoSuchFileException e) {
        return create(keystoreDir, file);
      } catch (IOException e) {
        throw new KmsConfigurationException("cannot read " + file + ": " + e.getMessage(), e);
      }
      return open(file, stored);
    } finally {
      Arrays.fill(passphrase, '\0');
    }
  }

  private KeyMaterial create(Path keystoreDir, Path file) throws KmsException {
    if (LocalKeyProvider.hasSealedKeys(keystoreDir)) {
      throw new KmsConfigurationException(file + " is missing but the keystore " + keystoreDir
          + " holds keys sealed under a root key: restore the file");
    }
    byte[] salt = new byte[SALT_BYTES];
    new SecureRandom().nextBytes(salt);
    byte[] key = derive(salt, params);
    ObjectNode n = JSON.createObjectNode();
    n.put("format", 1);
    n.put("kdf", "argon2id");
    n.put("argon2Version", 0x13);
    n.put("memoryKiB", params.memoryKiB());
    n.put("iterations", params.iterations());
    n.put("parallelism", params.parallelism());
    n.put("salt", Base64.getEncoder().encodeToString(salt));
    n.put("check", Base64.getEncoder().encodeToString(check(key)));
    try {
      AtomicFiles.write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(n));
    } catch (IOException e) {
      Arrays.fill(key, (byte) 0);
      throw new KmsConfigurationException("cannot write " + file + ": " + e.getMessage(), e);
    }
    LOG.info("derived a new passphrase root key; parameters stored in {}", file);
    return new KeyMaterial(key);
  }

  private KeyMaterial open(Path file, byte[] stored) throws KmsException {
    byte[] salt;
    byte[] expected;
    Argon2Params p;
    try {
      JsonNode n = JSON.readTree(stored);
      if (n.path("format").asInt() != 1 || !"argon2id".equals(n.path("kdf").asText())
          || n.path("argon2Version").asInt() != 0x13) {
        throw new IllegalArgumentException("unknown format or KDF");
      }
      p = new Argon2Params(n.path("memoryKiB").asInt(), n.path("iterations").asInt(), n.path("parallelism").asInt());
      salt = Base64.getDecoder().decode(n.path("salt").asText());
      expected = Base64.getDecoder().decode(n.path("check").asText());
      if (salt.length < SALT_BYTES || expected.length != 32) {
        throw new IllegalArgumentException("salt or check value has the wrong size");
      }
    } catch (IOException | RuntimeException e) {
      throw new KmsConfigurationException(file + " is unreadable or corrupt: " + e.getMessage(), e);
    }
    byte[] key = derive(salt, p);
    if (!MessageDigest.isEqual(check(key), expected)) {
      Arrays.fill(key, (byte) 0);
      throw new KmsAccessDeniedException("the passphrase does not match the keystore's root key (" + file + ")");
    }
    return new KeyMaterial(key);
  }

  private byte[] derive(byte[] salt, Argon2Params p) {
    Argon2Parameters a = new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
        .withVersion(Argon2Parameters.ARGON2_VERSION_13)
        .withSalt(salt)
        .withMemoryAsKB(p.memoryKiB())
        .withIterations(p.iterations())
        .withParallelism(p.parallelism())
        .build();
    Argon2BytesGenerator gen = new Argon2BytesGenerator();
    gen.init(a);
    ByteBuffer encoded = StandardCharsets.UTF_8.encode(CharBuffer.wrap(passphrase));
    byte[] password = new byte[encoded.remaining()];
    encoded.get(password);
    Arrays.fill(encoded.array(), (byte) 0);
    try {
      byte[] out = new byte[RootKeyFile.KEY_BYTES];
      gen.generateBytes(password, out);
      return out;
    } finally {
      Arrays.fill(password, (byte) 0);
    }
  }

  private static byte[] check(byte[] key) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new javax.crypto.spec.SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(CHECK_LABEL);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing from the JDK", e);
    }
  }

  @Override
  public String toString() {
    return "RootKeySource.passphrase(" + params + ")";
  }
}
