package io.coffer.kms.pkcs11;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.kms.InvalidCiphertextException;
import io.coffer.kms.KmsConfigurationException;
import io.coffer.kms.NotFoundException;
import io.coffer.kms.ProviderKeyRef;
import io.coffer.kms.SoftHsmToken;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The PKCS#11 provider on its own, against the SoftHSM2 token. */
class Pkcs11KeyProviderTest {

  @Test
  void keysOnTheTokenAreSensitiveAndNotExtractable() throws Exception {
    try (Pkcs11KeyProvider p = Pkcs11KeyProvider.open(SoftHsmToken.config())) {
      UUID id = UUID.randomUUID();
      String alias = p.createKeyMaterial(id, 1);
      assertEquals("coffer-" + id + "-v1", alias);
      String description = p.describeTokenKey(alias);
      // SunPKCS11 describes token keys as "... token object, sensitive, unextractable".
      assertTrue(description.contains("token object"), description);
      assertTrue(description.contains("sensitive"), description);
      assertTrue(description.contains("unextractable"), description);
      assertTrue(description.endsWith("encoded=null"), "the key's bytes must not leave the token: " + description);
      p.destroyKeyMaterial(new ProviderKeyRef(id, 1, alias));
    }
  }

  @Test
  void keysSurviveReopeningAndDestroyIsFinal() throws Exception {
    UUID id = UUID.randomUUID();
    ProviderKeyRef ref;
    byte[] aad = {1, 2, 3};
    byte[] ct;
    try (Pkcs11KeyProvider p = Pkcs11KeyProvider.open(SoftHsmToken.config())) {
      ref = new ProviderKeyRef(id, 1, p.createKeyMaterial(id, 1));
      ct = p.encrypt(ref, new byte[32], aad);
      assertEquals(12 + 32 + 16, ct.length);
    }
    try (Pkcs11KeyProvider p = Pkcs11KeyProvider.open(SoftHsmToken.config())) {
      assertArrayEquals(new byte[32], p.decrypt(ref, ct, aad));
      assertThrows(InvalidCiphertextException.class, () -> p.decrypt(ref, ct, new byte[] {1, 2, 4}));
      p.destroyKeyMaterial(ref);
      p.destroyKeyMaterial(ref); // idempotent
      assertThrows(NotFoundException.class, () -> p.decrypt(ref, ct, aad));
    }
  }

  @Test
  void wrongPinIsAConfigurationError() {
    Pkcs11Config good = SoftHsmToken.config();
    Pkcs11Config bad = Pkcs11Config.builder().library(good.library()).slotListIndex(0).pin("0000".toCharArray()).build();
    KmsConfigurationException e = assertThrows(KmsConfigurationException.class, () -> Pkcs11KeyProvider.open(bad));
    assertTrue(e.getMessage().contains("PIN"), e.getMessage());
    assertTrue(bad.toString().contains("***") && !bad.toString().contains("0000"));
  }

  @Test
  void missingLibraryIsAConfigurationError() {
    Pkcs11Config cfg = Pkcs11Config.builder().library(java.nio.file.Path.of("/nonexistent/libpkcs11.so"))
        .pin("1".toCharArray()).build();
    assertThrows(KmsConfigurationException.class, () -> Pkcs11KeyProvider.open(cfg));
  }
}
