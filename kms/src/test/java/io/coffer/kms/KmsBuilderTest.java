package io.coffer.kms;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Explicit provider registration and the builder's checks. */
class KmsBuilderTest {
  @TempDir Path tmp;

  /** A trivial provider: "ciphertext" is the plaintext XOR a per-version byte, plus the AAD hash. */
  static final class ToyProvider implements KmsProvider {
    final String scheme;
    final Map<String, Byte> keys = new ConcurrentHashMap<>();
    final AtomicBoolean closed = new AtomicBoolean();

    ToyProvider(String scheme) {
      this.scheme = scheme;
    }

    @Override
    public String scheme() {
      return scheme;
    }

    @Override
    public String createKeyMaterial(UUID keyId, int version) {
      String h = keyId + "#" + version;
      keys.put(h, (byte) (version * 31 + 7));
      return h;
    }

    @Override
    public byte[] encrypt(ProviderKeyRef key, byte[] plaintext, byte[] aad) {
      byte k = keys.get(key.handle());
      byte[] out = new byte[plaintext.length + 4];
      for (int i = 0; i < plaintext.length; i++) {
        out[i] = (byte) (plaintext[i] ^ k);
      }
      java.nio.ByteBuffer.wrap(out, plaintext.length, 4).putInt(java.util.Arrays.hashCode(aad));
      return out;
    }

    @Override
    public byte[] decrypt(ProviderKeyRef key, byte[] ciphertext, byte[] aad) throws KmsException {
      Byte k = keys.get(key.handle());
      if (k == null) {
        throw new NotFoundException("gone");
      }
      if (java.nio.ByteBuffer.wrap(ciphertext, ciphertext.length - 4, 4).getInt() != java.util.Arrays.hashCode(aad)) {
        throw new InvalidCiphertextException("aad");
      }
      byte[] out = new byte[ciphertext.length - 4];
      for (int i = 0; i < out.length; i++) {
        out[i] = (byte) (ciphertext[i] ^ k);
      }
      return out;
    }

    @Override
    public void destroyKeyMaterial(ProviderKeyRef key) {
      keys.remove(key.handle());
    }

    @Override
    public void close() {
      closed.set(true);
    }
  }

  @Test
  void aRegisteredProviderIsUsedByScheme() throws Exception {
    ToyProvider toy = new ToyProvider("toy");
    byte[] wrapped;
    byte[] plain;
    String keyId;
    try (Kms kms = Kms.builder().keystoreDir(tmp.resolve("kms")).provider(toy).build()) {
      KeyMetadata k = kms.createKey(CreateKeyRequest.of("toy key", "toy"), "admin");
      keyId = k.keyId().toString();
      assertEquals("kms:toy/" + keyId, k.keyUri());
      assertEquals(1, toy.keys.size());
      try (DataKey dk = kms.generateDataKey("kms:toy/" + keyId, Map.of(), "fs")) {
        wrapped = dk.wrapped();
        plain = dk.plaintext();
      }
      try (DataKey back = kms.decrypt(wrapped, Map.of(), "fs")) {
        assertArrayEquals(plain, back.plaintext());
      }
    }
    assertTrue(toy.closed.get(), "the KMS owns and closes its providers");

    // Without the provider registered, the key is known but unusable: nothing is looked up
    // on the class path.
    try (Kms kms = Kms.builder().keystoreDir(tmp.resolve("kms")).build()) {
      assertEquals("toy", kms.describeKey(keyId).provider());
      KmsConfigurationException e = assertThrows(KmsConfigurationException.class, () -> kms.decrypt(wrapped, Map.of(), "fs"));
      assertTrue(e.getMessage().contains("not registered"), e.getMessage());
      assertThrows(InvalidRequestException.class, () -> kms.createKey(CreateKeyRequest.of("x", "toy"), "admin"));
    }
  }

  @Test
  void conflictingOrInvalidRegistrationsAreRefused() {
    ToyProvider local = new ToyProvider("local");
    assertThrows(InvalidRequestException.class,
        () -> Kms.builder().keystoreDir(tmp.resolve("a")).provider(local).build());
    assertTrue(local.closed.get(), "a refused provider is closed, not leaked");
    assertThrows(InvalidRequestException.class,
        () -> Kms.builder().keystoreDir(tmp.resolve("b")).provider(new ToyProvider("x")).provider(new ToyProvider("x")).build());
    assertThrows(InvalidRequestException.class,
        () -> Kms.builder().keystoreDir(tmp.resolve("c")).provider(new ToyProvider("Bad-Scheme")).build());
    assertThrows(InvalidRequestException.class,
        () -> Kms.builder().keystoreDir(tmp.resolve("d")).defaultKeyProvider("pkcs11").build());
    assertThrows(InvalidRequestException.class, () -> Kms.builder().build());
  }

  @Test
  void theDefaultKeyCanLiveOnAnotherProvider() throws Exception {
    try (Kms kms = Kms.builder().keystoreDir(tmp.resolve("kms")).provider(new ToyProvider("toy"))
        .defaultKeyProvider("toy").build()) {
      assertEquals("toy", kms.defaultKey().provider());
    }
  }

  @Test
  void closedKmsRefusesWork() throws Exception {
    Kms kms = Kms.builder().keystoreDir(tmp.resolve("kms")).build();
    kms.close();
    kms.close();
    assertThrows(IllegalStateException.class, kms::listKeys);
  }
}
