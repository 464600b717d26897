package io.coffer.kms;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The wrapped-key layout, the canonical context, and key references. */
class WireFormatTest {

  @Test
  void wrappedKeyRoundTripsAndMatchesTheDocumentedLayout() throws Exception {
    UUID id = UUID.fromString("0e7c1f3a-5b6d-4c8e-9f01-23456789abcd");
    byte[] header = WrappedKeyFormat.header(id, 7);
    byte[] ct = {9, 8, 7};
    byte[] w = WrappedKeyFormat.assemble(header, ct);
    assertArrayEquals(new byte[] {1, 0x0e, 0x7c, 0x1f, 0x3a, 0x5b, 0x6d, 0x4c, (byte) 0x8e, (byte) 0x9f, 0x01, 0x23,
        0x45, 0x67, (byte) 0x89, (byte) 0xab, (byte) 0xcd, 0, 0, 0, 7, 0, 0, 0, 3, 9, 8, 7}, w);
    WrappedKeyFormat.Parsed p = WrappedKeyFormat.parse(w);
    assertEquals(id, p.keyId());
    assertEquals(7, p.keyVersion());
    assertArrayEquals(header, p.header());
    assertArrayEquals(ct, p.ciphertext());
  }

  @Test
  void malformedWrappedKeysAreInvalidCiphertext() {
    byte[] good = WrappedKeyFormat.assemble(WrappedKeyFormat.header(UUID.randomUUID(), 1), new byte[40]);
    byte[] version2 = good.clone();
    version2[0] = 2;
    byte[] version0 = good.clone();
    version0[0] = 0;
    byte[] keyVersion0 = good.clone();
    ByteBuffer.wrap(keyVersion0, 17, 4).putInt(0);
    byte[] negativeVersion = good.clone();
    ByteBuffer.wrap(negativeVersion, 17, 4).putInt(-1);
    byte[] lengthTooBig = good.clone();
    ByteBuffer.wrap(lengthTooBig, 21, 4).putInt(41);
    byte[] lengthTooSmall = good.clone();
    ByteBuffer.wrap(lengthTooSmall, 21, 4).putInt(39);
    byte[] lengthHuge = good.clone();
    ByteBuffer.wrap(lengthHuge, 21, 4).putInt(Integer.MAX_VALUE);
    byte[] lengthNegative = good.clone();
    ByteBuffer.wrap(lengthNegative, 21, 4).putInt(-40);
    byte[] emptyCiphertext = WrappedKeyFormat.header(UUID.randomUUID(), 1);
    for (byte[] bad : new byte[][] {null, new byte[0], version2, version0, keyVersion0, negativeVersion, lengthTooBig,
        lengthTooSmall, lengthHuge, lengthNegative, Arrays.copyOf(good, good.length + 1), emptyCiphertext,
        Arrays.copyOf(emptyCiphertext, 25)}) {
      assertThrows(InvalidCiphertextException.class, () -> WrappedKeyFormat.parse(bad));
    }
  }

  @Test
  void contextIsCanonicalAndUnambiguous() throws Exception {
    Map<String, String> a = new LinkedHashMap<>();
    a.put("b", "2");
    a.put("a", "1");
    Map<String, String> b = new HashMap<>();
    b.put("a", "1");
    b.put("b", "2");
    assertArrayEquals(canonical(a), canonical(b));
    assertFalse(Arrays.equals(canonical(Map.of("a", "bc")), canonical(Map.of("ab", "c"))));
    assertFalse(Arrays.equals(canonical(Map.of("a", "b", "c", "d")), canonical(Map.of("a", "b\0c\0d"))));
    assertFalse(Arrays.equals(canonical(Map.of()), canonical(Map.of("k", ""))));
    assertArrayEquals(new byte[] {0, 0, 0, 1, 0, 0, 0, 1, 'k', 0, 0, 0, 2, (byte) 0xc3, (byte) 0xa9},
        canonical(Map.of("k", "é")));
  }

  @Test
  void contextLimitsAndNullsAreInvalidRequests() {
    Map<String, String> nullKey = new HashMap<>();
    nullKey.put(null, "v");
    assertThrows(InvalidRequestException.class, () -> EncryptionContexts.normalize(nullKey));
    assertThrows(InvalidRequestException.class, () -> EncryptionContexts.normalize(Map.of("", "v")));
    Map<String, String> many = new HashMap<>();
    for (int i = 0; i < 65; i++) {
      many.put("k" + i, "v");
    }
    assertThrows(InvalidRequestException.class, () -> EncryptionContexts.normalize(many));
    assertThrows(InvalidRequestException.class, () -> EncryptionContexts.normalize(Map.of("k", "x".repeat(9000))));
  }

  private static byte[] canonical(Map<String, String> m) throws InvalidRequestException {
    return EncryptionContexts.canonicalBytes(EncryptionContexts.normalize(m));
  }

  @Test
  void aliasNameRules() throws Exception {
    for (String ok : new String[] {"alias/a", "alias/A-b_c/d9", "alias/coffer/default", "alias/" + "x".repeat(250)}) {
      KeyRefs.checkAliasSyntax(ok);
    }
    for (String bad : new String[] {"alias/", "alias", "Alias/x", "alias/a b", "alias/ä", "alias/a.b", "alias/a:b",
        "alias/" + "x".repeat(251), "", "/alias/x"}) {
      assertThrows(InvalidRequestException.class, () -> KeyRefs.checkAliasSyntax(bad), bad);
    }
    assertTrue(KeyRefs.isReserved("alias/coffer/anything"));
    assertFalse(KeyRefs.isReserved("alias/cofferx"));
  }

  @Test
  void keyReferencesParse() throws Exception {
    UUID id = UUID.randomUUID();
    assertEquals(new KeyRefs.ById(id), KeyRefs.parse(id.toString()));
    assertEquals(new KeyRefs.ById(id), KeyRefs.parse(id.toString().toUpperCase()));
    assertEquals(new KeyRefs.ByAlias("alias/x"), KeyRefs.parse("alias/x"));
    assertEquals(new KeyRefs.ByUri("pkcs11", id), KeyRefs.parse("kms:pkcs11/" + id));
    assertEquals("kms:local/" + id, KeyRefs.uri("local", id));
    for (String bad : new String[] {null, "", " ", "kms:", "kms:local", "kms:local/", "kms:Local/" + id, "kms:/" + id,
        "kms:local/not-a-uuid", "1-1-1-1-1", id + "x", "alias/bad name"}) {
      assertThrows(InvalidRequestException.class, () -> KeyRefs.parse(bad), String.valueOf(bad));
    }
  }

  @Test
  void dataKeyZeroesItselfAndNeverPrintsKeyBytes() {
    byte[] plain = new byte[32];
    Arrays.fill(plain, (byte) 0x5a);
    UUID id = UUID.randomUUID();
    DataKey dk = new DataKey(id, 3, "kms:local/" + id, plain, new byte[] {1, 2, 3});
    plain[0] = 0;
    assertEquals((byte) 0x5a, dk.plaintext()[0], "constructor copies");
    byte[] copy = dk.plaintext();
    copy[1] = 0;
    assertEquals((byte) 0x5a, dk.plaintext()[1], "accessor copies");
    String s = dk.toString();
    assertTrue(s.contains(id.toString()) && s.contains("keyVersion=3"), s);
    assertFalse(s.toLowerCase().contains("5a5a") || s.contains("WlpaWl") || s.contains("90, 90"), s);
    dk.close();
    assertTrue(dk.isDestroyed());
    assertThrows(IllegalStateException.class, dk::plaintext);
    assertThrows(IllegalStateException.class, dk::secretKey);
    assertArrayEquals(new byte[] {1, 2, 3}, dk.wrapped(), "the wrapped form stays usable");
    dk.close();
  }
}
