package io.coffer.kms;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The behaviour every provider must show through the {@link Kms} facade. Subclasses say how to
 * register their provider; keys (including the default key) are created on it.
 */
abstract class KmsContractTest {
  static final String ADMIN = "admin@test";
  static final String FS = "fs-1a2b3c4d";
  static final Map<String, String> CTX = Map.of("fs", FS, "purpose", "chunk-key", "inode", "42");

  @TempDir Path tmp;
  final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
  Kms kms;

  /** The scheme keys are created on. */
  abstract String provider();

  /** Registers the provider under test on the builder. */
  abstract KmsBuilder withProvider(KmsBuilder b) throws Exception;

  Path keystore() {
    return tmp.resolve("kms");
  }

  Kms open() throws Exception {
    return withProvider(Kms.builder().keystoreDir(keystore()).clock(clock).defaultKeyProvider(provider())).build();
  }

  @BeforeEach
  void openKms() throws Exception {
    kms = open();
  }

  @AfterEach
  void closeKms() {
    if (kms != null) {
      kms.close();
    }
  }

  KeyMetadata newKey() throws KmsException {
    return kms.createKey(CreateKeyRequest.of("contract test key", provider()), ADMIN);
  }

  static byte[] plaintext(DataKey dk) {
    return dk.plaintext();
  }

  // ------------------------------------------------------------------ round trip

  @Test
  void generateThenDecryptReturnsTheSameKey() throws Exception {
    KeyMetadata key = newKey();
    assertEquals(provider(), key.provider());
    assertEquals("kms:" + provider() + "/" + key.keyId(), key.keyUri());
    assertEquals(KeyState.ENABLED, key.state());
    assertEquals(KeyManager.CUSTOMER, key.keyManager());

    try (DataKey dk = kms.generateDataKey(key.keyId().toString(), CTX, FS)) {
      assertEquals(32, plaintext(dk).length);
      assertEquals(key.keyId(), dk.keyId());
      assertEquals(1, dk.keyVersion());
      assertEquals(key.keyUri(), dk.keyUri());
      // Same context given in another order and map type.
      Map<String, String> reordered = new HashMap<>(new TreeMap<>(CTX).descendingMap());
      try (DataKey back = kms.decrypt(dk.wrapped(), reordered, FS)) {
        assertArrayEquals(plaintext(dk), plaintext(back));
        assertEquals(key.keyId(), back.keyId());
        assertEquals(1, back.keyVersion());
        assertArrayEquals(dk.wrapped(), back.wrapped());
      }
      try (DataKey other = kms.generateDataKey(key.keyUri(), CTX, FS)) {
        assertFalse(Arrays.equals(plaintext(dk), plaintext(other)), "every data key is fresh");
        assertFalse(Arrays.equals(dk.wrapped(), other.wrapped()));
      }
    }
    try (DataKey noCtx = kms.generateDataKey(key.keyId().toString(), null, FS);
        DataKey back = kms.decrypt(noCtx.wrapped(), Map.of(), FS)) {
      assertArrayEquals(plaintext(noCtx), plaintext(back));
    }
  }

  @Test
  void wrappedKeyStartsWithTheDocumentedHeader() throws Exception {
    KeyMetadata key = newKey();
    try (DataKey dk = kms.generateDataKey(key.keyId().toString(), CTX, FS)) {
      byte[] w = dk.wrapped();
      assertEquals(1, w[0], "format version byte");
      java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(w, 1, 24);
      assertEquals(key.keyId(), new UUID(b.getLong(), b.getLong()));
      assertEquals(1, b.getInt());
      assertEquals(w.length - 25, b.getInt());
    }
  }

  @Test
  void wrongEncryptionContextIsInvalidCiphertext() throws Exception {
    KeyMetadata key = newKey();
    byte[] wrapped;
    try (DataKey dk = kms.generateDataKey(key.keyId().toString(), CTX, FS)) {
      wrapped = dk.wrapped();
    }
    Map<String, String> changedValue = new HashMap<>(CTX);
    changedValue.put("inode", "43");
    Map<String, String> extra = new HashMap<>(CTX);
    extra.put("x", "");
    Map<String, String> missing = new HashMap<>(CTX);
    missing.remove("purpose");
    Map<String, String> renamedKey = new HashMap<>(missing);
    renamedKey.put("purposE", "chunk-key");
    for (Map<String, String> wrong : List.of(changedValue, extra, missing, renamedKey, Map.<String, String>of())) {
      assertThrows(InvalidCiphertextException.class, () -> kms.decrypt(wrapped, wrong, FS), wrong.toString());
    }
    assertThrows(InvalidCiphertextException.class, () -> kms.decrypt(wrapped, null, FS));
  }

  @Test
  void everyTamperedByteFailsClosed() throws Exception {
    KeyMetadata key = newKey();
    byte[] wrapped;
    byte[] plain;
    try (DataKey dk = kms.generateDataKey(key.keyId().toString(), CTX, FS)) {
      wrapped = dk.wrapped();
      plain = dk.plaintext();
    }
    for (int i = 0; i < wrapped.length; i++) {
      byte[] t = wrapped.clone();
      t[i] ^= (byte) (1 << (i % 8));
      KmsException e = assertThrows(KmsException.class, () -> kms.decrypt(t, CTX, FS), "byte " + i);
      if (i >= 1 && i <= 16) {
        // The key id no longer names an existing key.
        assertTrue(e instanceof NotFoundException || e instanceof InvalidCiphertextException, "byte " + i + ": " + e);
      } else {
        assertInstanceOf(InvalidCiphertextException.class, e, "byte " + i);
      }
    }
    for (int len : new int[] {0, 1, 20, 24, 25, 26, wrapped.length / 2, wrapped.length - 1}) {
      byte[] cut = Arrays.copyOf(wrapped, len);
      assertThrows(InvalidCiphertextException.class, () -> kms.decrypt(cut, CTX, FS), "length " + len);
    }
    byte[] longer = Arrays.copyOf(wrapped, wrapped.length + 1);
    assertThrows(InvalidCiphertextException.class, () -> kms.decrypt(longer, CTX, FS));
    assertThrows(InvalidCiphertextException.class, () -> kms.decrypt(null, CTX, FS));
    // Untouched still works: failures above left nothing broken.
    try (DataKey back = kms.decrypt(wrapped, CTX, FS)) {
      assertArrayEquals(plain, back.plaintext());
    }
  }

  @Test
  void headerNamingAnotherExistingKeyIsInvalidCiphertext() throws Exception {
    KeyMetadata a = newKey();
    KeyMetadata b = newKey();
    byte[] wrapped;
    try (DataKey dk = kms.generateDataKey(a.keyId().toString(), CTX, FS)) {
      wrapped = dk.wrapped();
    }
    java.nio.ByteBuffer.wrap(wrapped, 1, 16).putLong(b.keyId().getMostSignificantBits())
        .putLong(b.keyId().getLeastSignificantBits());
    assertThrows(InvalidCiphertextException.class, () -> kms.decrypt(wrapped, CTX, FS));
  }

  // ------------------------------------------------------------------ states

  @Test
  void disabledKeyIsRefusedAndEnablingRestoresIt() throws Exception {
    KeyMetadata key = newKey();
    String id = key.keyId().toString();
    byte[] wrapped;
    try (DataKey dk = kms.generateDataKey(id, CTX, FS)) {
      wrapped = dk.wrapped();
    }
    assertEquals(KeyState.DISABLED, kms.disableKey(id, ADMIN).state());
    KeyDisabledException g = assertThrows(KeyDisabledException.class, () -> kms.generateDataKey(id, CTX, FS));
    assertEquals(key.keyId(), g.keyId());
    assertEquals(KeyState.DISABLED, g.state());
    assertTrue(g.getMessage().contains(id) && g.getMessage().contains("DISABLED"), g.getMessage());
    assertThrows(KeyDisabledException.class, () -> kms.decrypt(wrapped, CTX, FS));
    assertThrows(KeyDisabledException.class, () -> kms.reEncrypt(wrapped, CTX, id, CTX, FS));
    assertThrows(KeyDisabledException.class, () -> kms.rotateKey(id, ADMIN));

    assertEquals(KeyState.ENABLED, kms.enableKey(id, ADMIN).state());
    try (DataKey back = kms.decrypt(wrapped, CTX, FS); DataKey fresh = kms.generateDataKey(id, CTX, FS)) {
      assertEquals(32, back.plaintext().length);
      assertEquals(32, fresh.plaintext().length);
    }
  }

  @Test
  void pendingDeletionIsRefusedAndCancelLeavesTheKeyDisabled() throws Exception {
    KeyMetadata key = newKey();
    String id = key.keyId().toString();
    byte[] wrapped;
    try (DataKey dk = kms.generateDataKey(id, CTX, FS)) {
      wrapped = dk.wrapped();
    }
    assertThrows(InvalidRequestException.class, () -> kms.scheduleKeyDeletion(id, 6, ADMIN));
    assertThrows(InvalidRequestException.class, () -> kms.scheduleKeyDeletion(id, 31, ADMIN));
    KeyMetadata pending = kms.scheduleKeyDeletion(id, 7, ADMIN);
    assertEquals(KeyState.PENDING_DELETION, pending.state());
    assertEquals(clock.instant().plus(Duration.ofDays(7)), pending.deletionDate());

    InvalidKeyStateException e = assertThrows(InvalidKeyStateException.class, () -> kms.generateDataKey(id, CTX, FS));
    assertFalse(e instanceof KeyDisabledException);
    assertEquals(KeyState.PENDING_DELETION, e.state());
    assertTrue(e.getMessage().contains(id) && e.getMessage().contains("PENDING_DELETION"), e.getMessage());
    assertEquals(KeyState.PENDING_DELETION,
        assertThrows(InvalidKeyStateException.class, () -> kms.decrypt(wrapped, CTX, FS)).state());
    assertThrows(InvalidKeyStateException.class, () -> kms.enableKey(id, ADMIN));
    assertThrows(InvalidKeyStateException.class, () -> kms.scheduleKeyDeletion(id, 7, ADMIN));

    KeyMetadata cancelled = kms.cancelKeyDeletion(id, ADMIN);
    assertEquals(KeyState.DISABLED, cancelled.state());
    assertNull(cancelled.deletionDate());
    assertThrows(KeyDisabledException.class, () -> kms.decrypt(wrapped, CTX, FS));
    assertThrows(InvalidKeyStateException.class, () -> kms.cancelKeyDeletion(id, ADMIN));
    kms.enableKey(id, ADMIN);
    try (DataKey back = kms.decrypt(wrapped, CTX, FS)) {
      assertEquals(32, back.plaintext().length);
    }
  }

  @Test
  void keyIsDeletedOnceTheWindowHasPassed() throws Exception {
    KeyMetadata key = newKey();
    KeyMetadata keep = newKey();
    String id = key.keyId().toString();
    kms.createAlias("alias/doomed", id, ADMIN);
    byte[] wrapped;
    try (DataKey dk = kms.generateDataKey(id, CTX, FS)) {
      wrapped = dk.wrapped();
    }
    kms.scheduleKeyDeletion(id, 7, ADMIN);
    clock.advance(Duration.ofDays(7).minusSeconds(1));
    assertTrue(kms.runMaintenance().deleted().isEmpty());
    assertEquals(KeyState.PENDING_DELETION, kms.describeKey(id).state());

    clock.advance(Duration.ofSeconds(1));
    MaintenanceReport report = kms.runMaintenance();
    assertEquals(List.of(key.keyId()), report.deleted());
    assertThrows(NotFoundException.class, () -> kms.describeKey(id));
    assertThrows(NotFoundException.class, () -> kms.decrypt(wrapped, CTX, FS));
    assertThrows(NotFoundException.class, () -> kms.generateDataKey("alias/doomed", CTX, FS));
    assertTrue(kms.listAliases().stream().noneMatch(a -> a.aliasName().equals("alias/doomed")));
    UUID defaultKey = defaultKeyIdIfAny();
    assertEquals(List.of(keep.keyId()), kms.listKeys().stream().map(KeyMetadata::keyId)
        .filter(k -> !k.equals(defaultKey)).toList());

    // Still gone after a restart: deletion is durable.
    kms.close();
    kms = open();
    assertThrows(NotFoundException.class, () -> kms.describeKey(id));
    assertThrows(NotFoundException.class, () -> kms.decrypt(wrapped, CTX, FS));
  }

  @Test
  void dueDeletionHappensLazilyWithoutMaintenance() throws Exception {
    KeyMetadata key = newKey();
    String id = key.keyId().toString();
    kms.scheduleKeyDeletion(id, 30, ADMIN);
    clock.advance(Duration.ofDays(31));
    assertThrows(NotFoundException.class, () -> kms.describeKey(id));
    assertTrue(kms.listKeys().stream().noneMatch(k -> k.keyId().equals(key.keyId())));
    assertThrows(NotFoundException.class, () -> kms.cancelKeyDeletion(id, ADMIN));
  }

  private UUID defaultKeyIdIfAny() throws KmsException {
    return kms.listAliases().stream().filter(a -> a.aliasName().equals(Kms.DEFAULT_KEY_ALIAS))
        .map(AliasEntry::keyId).findFirst().orElse(null);
  }

  // ------------------------------------------------------------------ rotation

  @Test
  void rotationKeepsOldVersionsDecryptingAndNewKeysUseTheNewVersion() throws Exception {
    KeyMetadata key = newKey();
    String id = key.keyId().toString();
    byte[] w1;
    byte[] p1;
    try (DataKey dk = kms.generateDataKey(id, CTX, FS)) {
      w1 = dk.wrapped();
      p1 = dk.plaintext();
    }
    KeyMetadata rotated = kms.rotateKey(id, ADMIN);
    assertEquals(2, rotated.currentVersion());
    assertEquals(List.of(1, 2), rotated.versions());
    byte[] w2;
    byte[] p2;
    try (DataKey dk = kms.generateDataKey(id, CTX, FS)) {
      assertEquals(2, dk.keyVersion());
      w2 = dk.wrapped();
      p2 = dk.plaintext();
    }
    kms.rotateKey(id, ADMIN);
    try (DataKey b1 = kms.decrypt(w1, CTX, FS); DataKey b2 = kms.decrypt(w2, CTX, FS)) {
      assertEquals(1, b1.keyVersion());
      assertArrayEquals(p1, b1.plaintext());
      assertEquals(2, b2.keyVersion());
      assertArrayEquals(p2, b2.plaintext());
    }
    // Claiming a version the key does not have (v9) is refused.
    byte[] forged = w1.clone();
    java.nio.ByteBuffer.wrap(forged, 17, 4).putInt(9);
    assertThrows(InvalidCiphertextException.class, () -> kms.decrypt(forged, CTX, FS));
    // Claiming another real version (v2 instead of v1) fails authentication.
    byte[] swapped = w1.clone();
    java.nio.ByteBuffer.wrap(swapped, 17, 4).putInt(2);
    assertThrows(InvalidCiphertextException.class, () -> kms.decrypt(swapped, CTX, FS));
  }

  @Test
  void automaticRotationFollowsThePeriod() throws Exception {
    KeyMetadata monthly = kms.createKey(new CreateKeyRequest("monthly", provider(), 30), ADMIN);
    KeyMetadata never = kms.createKey(new CreateKeyRequest("manual only", provider(), 0), ADMIN);
    KeyMetadata yearly = newKey();
    assertEquals(365, yearly.rotationPeriodDays());
    assertEquals(clock.instant().plus(Duration.ofDays(30)), monthly.nextRotationDate());
    assertNull(never.nextRotationDate());
    byte[] old;
    try (DataKey dk = kms.generateDataKey(monthly.keyId().toString(), CTX, FS)) {
      old = dk.wrapped();
    }
    clock.advance(Duration.ofDays(29));
    assertTrue(kms.runMaintenance().rotated().isEmpty());
    clock.advance(Duration.ofDays(1));
    assertEquals(List.of(monthly.keyId()), kms.runMaintenance().rotated());
    assertEquals(2, kms.describeKey(monthly.keyId().toString()).currentVersion());
    assertTrue(kms.runMaintenance().rotated().isEmpty(), "one rotation per period");

    // Disabled keys do not rotate; enabled ones catch up.
    kms.disableKey(yearly.keyId().toString(), ADMIN);
    clock.advance(Duration.ofDays(366));
    assertEquals(List.of(monthly.keyId()), kms.runMaintenance().rotated());
    assertEquals(1, kms.describeKey(yearly.keyId().toString()).currentVersion());
    assertEquals(1, kms.describeKey(never.keyId().toString()).currentVersion());

    kms.setRotationPeriod(never.keyId().toString(), 10, ADMIN);
    assertEquals(List.of(never.keyId()), kms.runMaintenance().rotated());
    try (DataKey back = kms.decrypt(old, CTX, FS)) {
      assertEquals(1, back.keyVersion());
    }
    try (DataKey dk = kms.generateDataKey(monthly.keyId().toString(), CTX, FS)) {
      assertEquals(3, dk.keyVersion());
    }
    assertThrows(InvalidRequestException.class, () -> kms.setRotationPeriod(never.keyId().toString(), -1, ADMIN));
    assertThrows(InvalidRequestException.class, () -> kms.setRotationPeriod(never.keyId().toString(), 3651, ADMIN));
  }

  // ------------------------------------------------------------------ re-encrypt

  @Test
  void reEncryptMovesADataKeyToAnotherKeyAndContext() throws Exception {
    KeyMetadata a = newKey();
    KeyMetadata b = newKey();
    Map<String, String> ctx2 = Map.of("fs", "fs-99999999");
    byte[] wrapped;
    byte[] plain;
    try (DataKey dk = kms.generateDataKey(a.keyId().toString(), CTX, FS)) {
      wrapped = dk.wrapped();
      plain = dk.plaintext();
    }
    byte[] moved = kms.reEncrypt(wrapped, CTX, b.keyUri(), ctx2, FS);
    try (DataKey back = kms.decrypt(moved, ctx2, FS)) {
      assertEquals(b.keyId(), back.keyId());
      assertArrayEquals(plain, back.plaintext());
    }
    assertThrows(InvalidCiphertextException.class, () -> kms.decrypt(moved, CTX, FS));
    assertThrows(InvalidCiphertextException.class, () -> kms.reEncrypt(wrapped, ctx2, b.keyUri(), ctx2, FS));

    // Re-encrypting under the same key after rotation moves it to the new version.
    kms.rotateKey(a.keyId().toString(), ADMIN);
    byte[] renewed = kms.reEncrypt(wrapped, CTX, a.keyId().toString(), CTX, FS);
    try (DataKey back = kms.decrypt(renewed, CTX, FS)) {
      assertEquals(2, back.keyVersion());
      assertArrayEquals(plain, back.plaintext());
    }
    kms.disableKey(b.keyId().toString(), ADMIN);
    assertThrows(KeyDisabledException.class, () -> kms.reEncrypt(wrapped, CTX, b.keyUri(), ctx2, FS));
  }

  // ------------------------------------------------------------------ aliases and references

  @Test
  void aliasesNameOneKeyEachAndAKeyMayHaveSeveral() throws Exception {
    KeyMetadata a = newKey();
    KeyMetadata b = newKey();
    String aid = a.keyId().toString();
    assertEquals(new AliasEntry("alias/app-1", a.keyId()), kms.createAlias("alias/app-1", aid, ADMIN));
    kms.createAlias("alias/team_x/app-2", a.keyUri(), ADMIN);
    assertThrows(AlreadyExistsException.class, () -> kms.createAlias("alias/app-1", b.keyId().toString(), ADMIN));
    assertEquals(List.of("alias/app-1", "alias/team_x/app-2"), kms.describeKey(aid).aliases());
    assertEquals(a.keyId(), kms.describeKey("alias/team_x/app-2").keyId());

    try (DataKey dk = kms.generateDataKey("alias/app-1", CTX, FS)) {
      assertEquals(a.keyId(), dk.keyId());
    }
    kms.deleteAlias("alias/app-1", ADMIN);
    assertThrows(NotFoundException.class, () -> kms.generateDataKey("alias/app-1", CTX, FS));
    assertThrows(NotFoundException.class, () -> kms.deleteAlias("alias/app-1", ADMIN));
    kms.createAlias("alias/app-1", b.keyId().toString(), ADMIN);
    assertEquals(b.keyId(), kms.describeKey("alias/app-1").keyId());
    assertTrue(kms.listAliases().containsAll(List.of(new AliasEntry("alias/app-1", b.keyId()),
        new AliasEntry("alias/team_x/app-2", a.keyId()))));

    assertThrows(InvalidRequestException.class, () -> kms.createAlias("alias/has space", aid, ADMIN));
    assertThrows(InvalidRequestException.class, () -> kms.createAlias("alias/", aid, ADMIN));
    assertThrows(InvalidRequestException.class, () -> kms.createAlias("app", aid, ADMIN));
    assertThrows(KmsAccessDeniedException.class, () -> kms.createAlias("alias/coffer/mine", aid, ADMIN));
    assertThrows(NotFoundException.class, () -> kms.createAlias("alias/x", UUID.randomUUID().toString(), ADMIN));
  }

  @Test
  void everyOperationAcceptsIdAliasAndUri() throws Exception {
    KeyMetadata a = newKey();
    kms.createAlias("alias/by-alias", a.keyId().toString(), ADMIN);
    for (String ref : List.of(a.keyId().toString(), a.keyId().toString().toUpperCase(), "alias/by-alias", a.keyUri())) {
      assertEquals(a.keyId(), kms.describeKey(ref).keyId(), ref);
      kms.disableKey(ref, ADMIN);
      kms.enableKey(ref, ADMIN);
      try (DataKey dk = kms.generateDataKey(ref, CTX, FS)) {
        assertEquals(a.keyId(), dk.keyId());
      }
    }
    String otherScheme = provider().equals("local") ? "kmip" : "local";
    assertThrows(NotFoundException.class, () -> kms.describeKey("kms:" + otherScheme + "/" + a.keyId()));
    assertThrows(NotFoundException.class, () -> kms.describeKey(UUID.randomUUID().toString()));
    assertThrows(InvalidRequestException.class, () -> kms.describeKey("not-a-key"));
    assertThrows(InvalidRequestException.class, () -> kms.describeKey("kms:/" + a.keyId()));
    assertThrows(InvalidRequestException.class, () -> kms.describeKey(""));
  }

  // ------------------------------------------------------------------ service-managed default key

  @Test
  void defaultKeyIsServiceManagedAndCannotBeManaged() throws Exception {
    KeyMetadata d = kms.defaultKey();
    assertEquals(d.keyId(), kms.defaultKey().keyId(), "created once");
    assertEquals(KeyManager.SERVICE, d.keyManager());
    assertEquals(provider(), d.provider());
    assertEquals(List.of(Kms.DEFAULT_KEY_ALIAS), d.aliases());
    assertEquals(365, d.rotationPeriodDays());
    String id = d.keyId().toString();
    try (DataKey dk = kms.generateDataKey(Kms.DEFAULT_KEY_ALIAS, CTX, FS)) {
      assertEquals(d.keyId(), dk.keyId());
    }
    assertThrows(KmsAccessDeniedException.class, () -> kms.disableKey(id, ADMIN));
    assertThrows(KmsAccessDeniedException.class, () -> kms.enableKey(id, ADMIN));
    assertThrows(KmsAccessDeniedException.class, () -> kms.scheduleKeyDeletion(id, 30, ADMIN));
    assertThrows(KmsAccessDeniedException.class, () -> kms.setRotationPeriod(id, 30, ADMIN));
    assertThrows(KmsAccessDeniedException.class, () -> kms.rotateKey(Kms.DEFAULT_KEY_ALIAS, ADMIN));
    assertThrows(KmsAccessDeniedException.class, () -> kms.createAlias("alias/mine", id, ADMIN));
    assertThrows(KmsAccessDeniedException.class, () -> kms.deleteAlias(Kms.DEFAULT_KEY_ALIAS, ADMIN));
    KmsAccessDeniedException e = assertThrows(KmsAccessDeniedException.class, () -> kms.disableKey(Kms.DEFAULT_KEY_ALIAS, ADMIN));
    assertTrue(e.getMessage().contains("service-managed"), e.getMessage());
    assertEquals(KeyState.ENABLED, kms.describeKey(id).state());

    clock.advance(Duration.ofDays(365));
    assertTrue(kms.runMaintenance().rotated().contains(d.keyId()));
    assertEquals(2, kms.describeKey(id).currentVersion());
  }

  @Test
  void defaultKeyIsCreatedOnFirstUseByGenerate() throws Exception {
    assertTrue(kms.listAliases().isEmpty());
    try (DataKey dk = kms.generateDataKey(Kms.DEFAULT_KEY_ALIAS, CTX, FS)) {
      assertEquals(kms.defaultKey().keyId(), dk.keyId());
    }
    assertEquals(1, kms.listKeys().size());
  }

  // ------------------------------------------------------------------ persistence and audit

  @Test
  void keysAndStatesSurviveARestart() throws Exception {
    KeyMetadata a = newKey();
    KeyMetadata b = newKey();
    kms.createAlias("alias/persisted", a.keyId().toString(), ADMIN);
    byte[] w1;
    byte[] p1;
    try (DataKey dk = kms.generateDataKey(a.keyId().toString(), CTX, FS)) {
      w1 = dk.wrapped();
      p1 = dk.plaintext();
    }
    kms.rotateKey(a.keyId().toString(), ADMIN);
    kms.disableKey(b.keyId().toString(), ADMIN);
    kms.close();

    kms = open();
    KeyMetadata again = kms.describeKey("alias/persisted");
    assertEquals(a.keyId(), again.keyId());
    assertEquals(List.of(1, 2), again.versions());
    assertEquals(KeyState.DISABLED, kms.describeKey(b.keyId().toString()).state());
    try (DataKey back = kms.decrypt(w1, CTX, FS)) {
      assertArrayEquals(p1, back.plaintext());
    }
  }

  @Test
  void auditLogRecordsAllowedAndRefusedUses() throws Exception {
    KeyMetadata a = newKey();
    String id = a.keyId().toString();
    byte[] wrapped;
    try (DataKey dk = kms.generateDataKey(id, CTX, FS)) {
      wrapped = dk.wrapped();
    }
    assertThrows(InvalidCiphertextException.class, () -> kms.decrypt(wrapped, Map.of("fs", "other"), "fs-intruder"));
    kms.disableKey(id, ADMIN);
    assertThrows(KeyDisabledException.class, () -> kms.generateDataKey(id, CTX, FS));

    Path log = keystore().resolve("audit.log");
    List<JsonNode> entries = AuditLines.read(log);
    JsonNode gen = entries.stream().filter(n -> n.path("operation").asText().equals("GenerateDataKey")
        && n.path("outcome").asText().equals("allowed")).findFirst().orElseGet(() -> fail("no allowed generate: " + entries));
    assertEquals(FS, gen.path("principal").asText());
    assertEquals(id, gen.path("keyId").asText());
    assertEquals(1, gen.path("keyVersion").asInt());
    assertEquals("42", gen.path("encryptionContext").path("inode").asText());
    assertTrue(Instant.parse(gen.path("eventTime").asText()).equals(clock.instant()));

    JsonNode badCtx = entries.stream().filter(n -> n.path("operation").asText().equals("Decrypt")).findFirst().orElseThrow();
    assertEquals("refused", badCtx.path("outcome").asText());
    assertEquals("fs-intruder", badCtx.path("principal").asText());
    assertEquals("InvalidCiphertext", badCtx.path("errorCode").asText());
    assertEquals("other", badCtx.path("encryptionContext").path("fs").asText());
    assertEquals(id, badCtx.path("keyId").asText());
    assertFalse(badCtx.path("reason").asText().isEmpty());

    JsonNode disabled = entries.stream().filter(n -> n.path("operation").asText().equals("GenerateDataKey")
        && n.path("outcome").asText().equals("refused")).findFirst().orElseThrow();
    assertEquals("KeyDisabled", disabled.path("errorCode").asText());
    assertTrue(disabled.path("reason").asText().contains("DISABLED"));

    assertTrue(entries.stream().anyMatch(n -> n.path("operation").asText().equals("CreateKey")
        && n.path("principal").asText().equals(ADMIN) && n.path("keyId").asText().equals(id)));
    assertTrue(entries.stream().anyMatch(n -> n.path("operation").asText().equals("DisableKey")
        && n.path("outcome").asText().equals("allowed")));
    // Never any key material in the log.
    String raw = java.nio.file.Files.readString(log);
    assertFalse(raw.contains(java.util.Base64.getEncoder().encodeToString(wrapped)));
  }

  @Test
  void callerIsRequired() throws Exception {
    KeyMetadata a = newKey();
    assertThrows(InvalidRequestException.class, () -> kms.generateDataKey(a.keyId().toString(), CTX, null));
    assertThrows(InvalidRequestException.class, () -> kms.generateDataKey(a.keyId().toString(), CTX, " "));
    Map<String, String> nullValue = new HashMap<>();
    nullValue.put("k", null);
    assertThrows(InvalidRequestException.class, () -> kms.generateDataKey(a.keyId().toString(), nullValue, FS));
  }

  @Test
  void unknownProviderIsRefused() {
    InvalidRequestException e = assertThrows(InvalidRequestException.class,
        () -> kms.createKey(CreateKeyRequest.of("x", "nosuch"), ADMIN));
    assertTrue(e.getMessage().contains("nosuch"));
    assertNotEquals("", e.getMessage());
  }
}
