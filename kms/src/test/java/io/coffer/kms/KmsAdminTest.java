package io.coffer.kms;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The map-in, map-out admin adapter the RPC layer calls. */
class KmsAdminTest {
  @TempDir Path tmp;
  final MutableClock clock = new MutableClock(Instant.parse("2031-06-01T12:00:00Z"));
  Kms kms;
  KmsAdmin admin;

  @BeforeEach
  void open() throws Exception {
    kms = Kms.builder().keystoreDir(tmp.resolve("kms")).clock(clock).build();
    admin = new KmsAdmin(kms);
  }

  @AfterEach
  void close() {
    kms.close();
  }

  Map<String, Object> run(String command, Object... kv) throws KmsException {
    Map<String, Object> args = new HashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      args.put((String) kv[i], kv[i + 1]);
    }
    return admin.handle(command, args, "admin@cli");
  }

  @Test
  @SuppressWarnings("unchecked")
  void fullLifecycleThroughCommands() throws Exception {
    Map<String, Object> created = run("create-key", "description", "for fs-1", "rotation-period-days", "90");
    String id = (String) created.get("keyId");
    assertEquals("kms:local/" + id, created.get("keyUri"));
    assertEquals("for fs-1", created.get("description"));
    assertEquals("ENABLED", created.get("keyState"));
    assertEquals("CUSTOMER", created.get("keyManager"));
    assertEquals(90, created.get("rotationPeriodDays"));
    assertEquals(1, created.get("currentVersion"));
    assertEquals("2031-06-01T12:00:00Z", created.get("creationDate"));
    assertEquals("2031-08-30T12:00:00Z", created.get("nextRotationDate"));
    assertFalse(created.containsKey("deletionDate"));

    assertEquals(id, run("describe-key", "key", id).get("keyId"));
    assertEquals("DISABLED", run("disable-key", "key", id).get("keyState"));
    assertEquals("ENABLED", run("enable-key", "key", id).get("keyState"));
    assertEquals(List.of(1, 2), run("rotate-key", "key", id).get("versions"));
    assertEquals(0, run("set-key-rotation", "key", id, "rotation-period-days", 0).get("rotationPeriodDays"));

    assertEquals(Map.of("aliasName", "alias/fs-1", "keyId", id), run("create-alias", "alias-name", "alias/fs-1", "key", id));
    assertEquals(List.of(Map.of("aliasName", "alias/fs-1", "keyId", id)), run("list-aliases").get("aliases"));
    assertEquals(List.of("alias/fs-1"), run("describe-key", "key", "alias/fs-1").get("aliases"));

    Map<String, Object> pending = run("schedule-key-deletion", "key", "alias/fs-1");
    assertEquals("PENDING_DELETION", pending.get("keyState"));
    assertEquals(clock.instant().plus(Duration.ofDays(30)).toString(), pending.get("deletionDate"));
    assertEquals("DISABLED", run("cancel-key-deletion", "key", id).get("keyState"));
    Map<String, Object> seven = run("schedule-key-deletion", "key", id, "pending-window-days", 7L);
    assertEquals(clock.instant().plus(Duration.ofDays(7)).toString(), seven.get("deletionDate"));

    List<Map<String, Object>> keys = (List<Map<String, Object>>) run("list-keys").get("keys");
    assertEquals(1, keys.size());
    assertEquals(Map.of("deleted", "alias/fs-1"), run("delete-alias", "alias-name", "alias/fs-1"));
    assertTrue(((List<?>) run("list-aliases").get("aliases")).isEmpty());
  }

  @Test
  void badCommandsAndArgumentsAreInvalidRequests() throws Exception {
    String id = (String) run("create-key").get("keyId");
    assertThrows(InvalidRequestException.class, () -> run("delete-key", "key", id));
    assertThrows(InvalidRequestException.class, () -> admin.handle(null, null, "x"));
    assertThrows(InvalidRequestException.class, () -> run("describe-key"));
    assertThrows(InvalidRequestException.class, () -> run("describe-key", "keyid", id));
    assertThrows(InvalidRequestException.class, () -> run("describe-key", "key", 42));
    assertThrows(InvalidRequestException.class, () -> run("create-key", "rotation-period-days", "soon"));
    assertThrows(InvalidRequestException.class, () -> run("create-key", "rotation-period-days", 1.5));
    assertThrows(InvalidRequestException.class, () -> run("schedule-key-deletion", "key", id, "pending-window-days", 3));
    assertThrows(InvalidRequestException.class, () -> run("create-key", "provider", "pkcs11"));
    assertThrows(NotFoundException.class, () -> run("enable-key", "key", "alias/none"));
    assertThrows(KmsAccessDeniedException.class, () -> run("create-alias", "alias-name", "alias/coffer/x", "key", id));
    assertTrue(KmsAdmin.commands().containsAll(List.of("create-key", "list-keys", "describe-key", "enable-key",
        "disable-key", "rotate-key", "schedule-key-deletion", "cancel-key-deletion", "create-alias", "delete-alias",
        "list-aliases")));
  }

  @Test
  void exceptionCodesAreStable() {
    assertEquals("NotFound", new NotFoundException("x").code());
    assertEquals("KeyDisabled", new KeyDisabledException(java.util.UUID.randomUUID(), "op").code());
    assertEquals("InvalidKeyState", new InvalidKeyStateException(java.util.UUID.randomUUID(), KeyState.PENDING_DELETION, "op").code());
    assertEquals("InvalidCiphertext", new InvalidCiphertextException("x").code());
    assertEquals("AccessDenied", new KmsAccessDeniedException("x").code());
    assertEquals("KmsUnavailable", new KmsUnavailableException("x").code());
    assertTrue(new KmsUnavailableException("x").isRetryable());
    assertFalse(new InvalidCiphertextException("x").isRetryable());
    assertEquals("InvalidRequest", new InvalidRequestException("x").code());
    assertEquals("AlreadyExists", new AlreadyExistsException("x").code());
    assertTrue(new AlreadyExistsException("x") instanceof InvalidRequestException);
  }
}
