package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The life of a customer-managed key, through {@code coffer kms} and a kernel mount, with the
 * server's key cache TTL at 2 s: disabling the key locks its file system out within that bound
 * (reads of uncached data and writes fail, the server says why), enabling it brings everything
 * back; a scheduled and cancelled deletion does the same; a rotation keeps old and new data
 * readable, with both key versions in the audit log.
 */
class AtRestKeyStateIT {
    private static final Duration TTL = Duration.ofSeconds(2);
    /** TTL, plus the client's 1 s attribute cache, plus scheduling slack on a busy machine. */
    private static final Duration LOCKOUT_BOUND = TTL.plusSeconds(4);
    /** Refusals are remembered for at most 2 s on the server (the TTL here), plus slack. */
    private static final Duration RESTORE_BOUND = Duration.ofSeconds(6);
    private static final Set<String> REFUSED = Set.of("EACCES", "EIO");

    @TempDir
    static Path work;
    static Coffer coffer;
    static Path probe;

    @BeforeAll
    static void setUp() throws Exception {
        Coffer.requireFuse();
        coffer = new Coffer(work);
        probe = AtRest.installProbe(work);
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (coffer != null) {
            coffer.close();
        }
    }

    static String kms(Coffer.Server s, String... args) throws Exception {
        List<String> a = new ArrayList<>(List.of("kms", args[0], "--server", s.address()));
        a.addAll(List.of(args).subList(1, args.length));
        return Coffer.coffer(a.toArray(new String[0])).ok().out().trim();
    }

    /** Written files and their SHA-256, checked again after every disruption. */
    final Map<Path, String> written = new LinkedHashMap<>();

    void write(Path f, int length, long seed) throws Exception {
        String r = AtRest.write(probe, f, 0, length, seed);
        assertTrue(r.startsWith("OK "), "write " + f + ": " + r);
        written.put(f, r.substring(3));
    }

    void verifyAll() throws Exception {
        AtRest.dropPageCache();
        for (Map.Entry<Path, String> w : written.entrySet()) {
            int len = (int) Files.size(w.getKey());
            assertEquals("OK " + w.getValue() + " " + len, AtRest.pread(probe, w.getKey(), 0, len), "checksum of " + w.getKey());
        }
    }

    /** Reads a file nothing has cached (the page cache is dropped first); the errno name or "OK". */
    String uncachedRead(Path f) throws Exception {
        AtRest.dropPageCache();
        String r = AtRest.pread(probe, f, 0, 4096);
        return r.startsWith("OK ") ? "OK" : r;
    }

    /** Waits until reads are refused; returns how long that took. */
    Duration awaitLockout(Path f, String what) throws Exception {
        String[] last = {""};
        Duration took = AtRest.await(LOCKOUT_BOUND.plusSeconds(10), Duration.ofMillis(250), () -> {
            last[0] = uncachedRead(f);
            return REFUSED.contains(last[0]);
        });
        assertNotNull(took, what + ": reads still answered " + last[0]);
        assertTrue(took.compareTo(LOCKOUT_BOUND) <= 0, what + ": locked out only after " + took);
        return took;
    }

    Duration awaitRestore(Path f, String what) throws Exception {
        String[] last = {""};
        Duration took = AtRest.await(RESTORE_BOUND.plusSeconds(10), Duration.ofMillis(250), () -> {
            last[0] = uncachedRead(f);
            return last[0].equals("OK");
        });
        assertNotNull(took, what + ": reads still fail with " + last[0]);
        assertTrue(took.compareTo(RESTORE_BOUND) <= 0, what + ": access came back only after " + took);
        return took;
    }

    void assertWriteRefused(Path f, String what) throws Exception {
        String r = AtRest.write(probe, f, 0, 70_000, 99);
        assertTrue(REFUSED.contains(r), what + ": a write answered " + r);
    }

    @Test
    void disableEnableScheduleCancelAndRotate() throws Exception {
        Coffer.Server server = coffer.server("--key-cache-ttl", "2s");
        String key = kms(server, "create-key", "--description", "AtRestKeyStateIT");
        assertTrue(key.matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "a key id: " + key);
        assertEquals("alias/it-key -> " + key, kms(server, "create-alias", "it-key", key));
        String fs = server.createFs("--kms-key", "alias/it-key");
        String opts = "addr=127.0.0.1,port=" + server.port;
        Path mnt = coffer.mount(fs, opts);
        write(mnt.resolve("a.bin"), 1 << 20, 1);
        write(mnt.resolve("b.bin"), 200_000, 2);

        // Disable: locked out within the TTL, with a clear server line.
        long logFrom = Files.size(server.log());
        assertEquals(key + " DISABLED", kms(server, "disable-key", "alias/it-key"));
        awaitLockout(mnt.resolve("a.bin"), "disabled key");
        assertWriteRefused(mnt.resolve("new-while-disabled.bin"), "disabled key");
        String log = AtRest.logSince(server.log(), logFrom);
        assertTrue(log.lines().anyMatch(l -> l.contains("ERROR") && l.contains(fs) && l.contains(key)
                && l.contains("DISABLED")), "the server log names fs, key and state:\n" + log);

        // Enable: back within seconds, nothing lost, writes work again.
        kms(server, "enable-key", key);
        awaitRestore(mnt.resolve("b.bin"), "enabled key");
        write(mnt.resolve("c.bin"), 300_000, 3);
        verifyAll();

        // Scheduled deletion: locked out; cancelled: still out (the key is disabled); enabled: back.
        logFrom = Files.size(server.log());
        String scheduled = kms(server, "schedule-key-deletion", "kms:local/" + key, "--pending-window-in-days", "7");
        assertTrue(scheduled.startsWith(key + " PENDING_DELETION"), scheduled);
        awaitLockout(mnt.resolve("c.bin"), "key pending deletion");
        assertWriteRefused(mnt.resolve("new-while-pending.bin"), "key pending deletion");
        log = AtRest.logSince(server.log(), logFrom);
        assertTrue(log.lines().anyMatch(l -> l.contains(fs) && l.contains(key) && l.contains("PENDING_DELETION")),
                "the server log names the pending deletion:\n" + log);
        assertEquals(key + " DISABLED", kms(server, "cancel-key-deletion", key));
        assertTrue(REFUSED.contains(uncachedRead(mnt.resolve("a.bin"))), "cancelling leaves the key disabled");
        kms(server, "enable-key", key);
        awaitRestore(mnt.resolve("a.bin"), "re-enabled key");
        verifyAll();

        // Rotation: the file system keeps its data key (wrapped under version 1); a new file system
        // made afterwards gets one wrapped under version 2. Both work, before and after the rotation.
        assertEquals(key + " version 2", kms(server, "rotate-key", "alias/it-key"));
        write(mnt.resolve("after-rotation.bin"), 150_000, 4);
        String fs2 = AtRest.createFs(server.port, true, key);
        Path mnt2 = coffer.mount(fs2, opts);
        write(mnt2.resolve("second.bin"), 150_000, 5);
        Thread.sleep(TTL.toMillis() + 500); // both leases end: the data keys are unwrapped again
        verifyAll();

        List<JsonNode> audit = AtRest.audit(server.dataDir);
        int rotatedAt = -1;
        Set<Integer> generated = new TreeSet<>();
        Set<Integer> decryptedAfterRotation = new TreeSet<>();
        for (int i = 0; i < audit.size(); i++) {
            JsonNode e = audit.get(i);
            if (!key.equals(e.path("keyId").asText()) || !"allowed".equals(e.path("outcome").asText())) {
                continue;
            }
            switch (e.path("operation").asText()) {
                case "RotateKey" -> rotatedAt = i;
                case "GenerateDataKey" -> generated.add(e.path("keyVersion").asInt());
                case "Decrypt" -> {
                    if (rotatedAt >= 0) {
                        decryptedAfterRotation.add(e.path("keyVersion").asInt());
                    }
                }
                default -> { }
            }
        }
        assertTrue(rotatedAt >= 0, "the audit log records the rotation");
        assertEquals(Set.of(1, 2), generated, "data keys were made under both versions");
        assertTrue(decryptedAfterRotation.containsAll(Set.of(1, 2)),
                "after the rotation both versions unwrapped data keys: " + decryptedAfterRotation);
        assertTrue(audit.stream().anyMatch(e -> "Decrypt".equals(e.path("operation").asText())
                && "refused".equals(e.path("outcome").asText()) && "KeyDisabled".equals(e.path("errorCode").asText())),
                "the refused unwraps are audited too");
    }
}
