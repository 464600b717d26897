package io.coffer.server.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.coffer.core.FsException;
import io.coffer.core.Status;
import io.coffer.core.status.AccessException;
import io.coffer.core.status.IoException;
import io.coffer.core.status.NoEntException;
import io.coffer.kms.CreateKeyRequest;
import io.coffer.kms.Kms;
import io.coffer.kms.KmsException;
import io.coffer.server.chunk.ChunkKey;
import io.coffer.server.fs.CipherSource;
import io.coffer.server.fs.FileSystemRecord;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The KMS-backed key cache against a real local KMS in a temporary keystore, with an injected
 * clock for the cache and another for the KMS's deletion windows.
 */
class KmsCiphersTest {
    private static final Duration TTL = Duration.ofMinutes(5);
    private static final Duration FAILURE_TTL = Duration.ofSeconds(2);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    final MutableClock kmsClock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    final TestProvider flaky = new TestProvider("flaky");
    Kms kms;
    KmsCiphers ciphers;
    ListAppender<ILoggingEvent> logs;

    @BeforeEach
    void setUp() throws KmsException {
        kms = Kms.builder().keystoreDir(dir.resolve("kms")).clock(kmsClock).auditFsync(false).provider(flaky).build();
        ciphers = newCiphers();
        logs = new ListAppender<>();
        logs.start();
        Logger l = (Logger) LoggerFactory.getLogger(KmsCiphers.class);
        l.setLevel(ch.qos.logback.classic.Level.INFO);
        l.addAppender(logs);
    }

    @AfterEach
    void tearDown() {
        Logger l = (Logger) LoggerFactory.getLogger(KmsCiphers.class);
        l.detachAppender(logs);
        l.setLevel(null);
        ciphers.close();
        kms.close();
    }

    private KmsCiphers newCiphers() {
        return new KmsCiphers(kms, new KmsCiphers.Options(TTL, FAILURE_TTL, Duration.ZERO, Duration.ofSeconds(30),
                nanos::get, false));
    }

    private void advance(Duration d) {
        nanos.addAndGet(d.toNanos());
    }

    private static FileSystemRecord record(String fsId, CipherSource.NewKey k) {
        return new FileSystemRecord(fsId, 1, null, 0, true, k.keyId(), k.wrappedDataKey(), 65536, 1, null,
                FileSystemRecord.STATE_AVAILABLE);
    }

    private String customerKey() throws KmsException {
        return kms.createKey(CreateKeyRequest.of("test"), "admin").keyId().toString();
    }

    private static ByteBuffer seal(FsCipher c, ChunkKey k, String text) throws IOException {
        return c.sealChunk(k, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
    }

    private static String open(FsCipher c, ChunkKey k, ByteBuffer sealed) throws IOException {
        ByteBuffer out = ByteBuffer.allocate(sealed.remaining());
        c.openChunk(k, sealed.duplicate(), out);
        out.flip();
        return StandardCharsets.UTF_8.decode(out).toString();
    }

    private List<JsonNode> audit(String operation) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("kms/audit.log"))) {
            JsonNode n = JSON.readTree(line);
            if (n.path("operation").asText().equals(operation)) {
                out.add(n);
            }
        }
        return out;
    }

    private long errorLines(String... fragments) {
        return logs.list.stream().filter(e -> e.getLevel() == ch.qos.logback.classic.Level.ERROR)
                .map(ILoggingEvent::getFormattedMessage)
                .filter(m -> java.util.Arrays.stream(fragments).allMatch(m::contains)).count();
    }

    @Test
    void roundTripUnderTheDefaultKeySurvivesARestart() throws Exception {
        CipherSource.NewKey k = ciphers.newDataKey("fs-0000000a", null, "admin");
        assertEquals(kms.defaultKey().keyId().toString(), k.keyId(), "no --kms-key: the service-managed key");
        FileSystemRecord rec = record("fs-0000000a", k);
        FsCipher c = ciphers.cipher(rec);
        assertTrue(c.encrypting());
        ChunkKey ck = new ChunkKey(10, 17, 0, 1);
        ByteBuffer sealed = seal(c, ck, "hello chunk");
        assertEquals("hello chunk", open(c, ck, sealed));

        // A new process has only the catalog record: it unwraps the stored key and reads the old chunk.
        try (KmsCiphers restarted = newCiphers()) {
            FsCipher c2 = restarted.cipher(rec);
            assertNotSame(c, c2);
            assertEquals("hello chunk", open(c2, ck, sealed));
            assertArrayEquals(c.nameKey(FsCipher.NameDomain.DIRENT, 1, "name"),
                    c2.nameKey(FsCipher.NameDomain.DIRENT, 1, "name"), "same data key, same name keys");
        }
        JsonNode gen = audit("GenerateDataKey").get(0);
        assertEquals("fs-0000000a", gen.path("encryptionContext").path(KmsCiphers.CONTEXT_FS_ID).asText());
        assertEquals("admin", gen.path("principal").asText());
        JsonNode dec = audit("Decrypt").get(0);
        assertEquals(KmsCiphers.PRINCIPAL, dec.path("principal").asText());
        assertEquals("fs-0000000a", dec.path("encryptionContext").path(KmsCiphers.CONTEXT_FS_ID).asText());
    }

    @Test
    void theKmsIsAskedOncePerLeaseNotPerOperation() throws Exception {
        FileSystemRecord rec = record("fs-0000000b", ciphers.newDataKey("fs-0000000b", null, "admin"));
        try (KmsCiphers fresh = newCiphers()) {
            assertFalse(fresh.ready(rec), "nothing cached yet: serving it needs the KMS");
            FsCipher first = fresh.cipher(rec);
            assertTrue(fresh.ready(rec), "cached");
            for (int i = 0; i < 1000; i++) {
                assertSame(first, fresh.cipher(rec));
            }
            assertEquals(1, audit("Decrypt").size());
            advance(TTL.minusSeconds(1));
            fresh.cipher(rec);
            assertEquals(1, audit("Decrypt").size(), "still within the lease");
            advance(Duration.ofSeconds(2));
            assertFalse(fresh.ready(rec), "the lease ended: serving it needs the KMS again");
            assertSame(first, fresh.cipher(rec), "a renewed lease keeps the derived keys");
            assertEquals(2, audit("Decrypt").size(), "the lease ended: unwrapped again");
        }
    }

    @Test
    void aDisabledKeyLocksItsFileSystemsOutAfterTheTtlAndEnablingRestoresAccess() throws Exception {
        String key = customerKey();
        FileSystemRecord rec = record("fs-0000000c", ciphers.newDataKey("fs-0000000c", key, "admin"));
        FileSystemRecord other = record("fs-0000000d", ciphers.newDataKey("fs-0000000d", null, "admin"));
        FsCipher c = ciphers.cipher(rec);
        ChunkKey ck = new ChunkKey(12, 20, 3, 7);
        ByteBuffer sealed = seal(c, ck, "before");

        kms.disableKey(key, "admin");
        assertSame(c, ciphers.cipher(rec), "within the TTL the cached key still serves");
        advance(TTL);
        AccessException e = assertThrows(AccessException.class, () -> ciphers.cipher(rec));
        assertEquals(Status.EACCES, e.status());
        assertTrue(e.getMessage().contains(key) && e.getMessage().contains("DISABLED"), e.getMessage());
        assertTrue(e.getMessage().contains("fs-0000000c"), e.getMessage());
        ciphers.cipher(other);
        assertEquals(1, errorLines("fs-0000000c", key, "DISABLED"), "one server line names fs, key and state");

        // The evicted cipher is destroyed (grace 0 here) once the sweeper runs.
        ciphers.sweep();
        assertThrows(IllegalStateException.class, () -> seal(c, ck, "after"));

        // Repeats within the failure TTL are answered from memory, and the log line is not repeated.
        int decrypts = audit("Decrypt").size();
        for (int i = 0; i < 10; i++) {
            assertThrows(AccessException.class, () -> ciphers.cipher(rec));
        }
        assertEquals(decrypts, audit("Decrypt").size());
        advance(FAILURE_TTL);
        assertThrows(AccessException.class, () -> ciphers.cipher(rec));
        assertEquals(1, errorLines("fs-0000000c", key, "DISABLED"), "rate-limited to one line per 30 s");
        advance(Duration.ofSeconds(31));
        assertThrows(AccessException.class, () -> ciphers.cipher(rec));
        assertEquals(2, errorLines("fs-0000000c", key, "DISABLED"));

        kms.enableKey(key, "admin");
        advance(FAILURE_TTL);
        FsCipher back = ciphers.cipher(rec);
        assertEquals("before", open(back, ck, sealed), "no data lost");
    }

    @Test
    void scheduledDeletionLocksOutAndCancellingThenEnablingRestores() throws Exception {
        String key = customerKey();
        FileSystemRecord rec = record("fs-0000000e", ciphers.newDataKey("fs-0000000e", "kms:local/" + key, "admin"));
        ciphers.cipher(rec);
        kms.scheduleKeyDeletion(key, 7, "admin");
        advance(TTL);
        AccessException e = assertThrows(AccessException.class, () -> ciphers.cipher(rec));
        assertTrue(e.getMessage().contains("PENDING_DELETION"), e.getMessage());
        assertEquals(1, errorLines("fs-0000000e", key, "PENDING_DELETION"));

        kms.cancelKeyDeletion(key, "admin");
        advance(FAILURE_TTL);
        e = assertThrows(AccessException.class, () -> ciphers.cipher(rec));
        assertTrue(e.getMessage().contains("DISABLED"), "cancelling leaves the key disabled: " + e.getMessage());
        assertEquals(1, errorLines("fs-0000000e", key, "DISABLED"), "a new state is logged at once");

        kms.enableKey(key, "admin");
        advance(FAILURE_TTL);
        ciphers.cipher(rec);
        assertTrue(logs.list.stream().anyMatch(l -> l.getFormattedMessage().contains("fs-0000000e is accessible again")));
    }

    @Test
    void aDeletedKeyIsAnIoError() throws Exception {
        String key = customerKey();
        FileSystemRecord rec = record("fs-0000000f", ciphers.newDataKey("fs-0000000f", key, "admin"));
        kms.scheduleKeyDeletion(key, 7, "admin");
        kmsClock.advance(Duration.ofDays(8));
        advance(TTL);
        IoException e = assertThrows(IoException.class, () -> ciphers.cipher(rec));
        assertTrue(e.getMessage().contains("no longer exists"), e.getMessage());
        assertEquals(1, errorLines("fs-0000000f", key, "DELETED"));
    }

    @Test
    void fileSystemsMadeBeforeAndAfterARotationBothWorkAndTheAuditShowsBothVersions() throws Exception {
        String key = customerKey();
        FileSystemRecord before = record("fs-00000010", ciphers.newDataKey("fs-00000010", key, "admin"));
        ChunkKey ck1 = new ChunkKey(0x10, 30, 0, 1);
        ByteBuffer s1 = seal(ciphers.cipher(before), ck1, "v1 data");
        kms.rotateKey(key, "admin");
        FileSystemRecord after = record("fs-00000011", ciphers.newDataKey("fs-00000011", key, "admin"));
        ChunkKey ck2 = new ChunkKey(0x11, 30, 0, 1);
        ByteBuffer s2 = seal(ciphers.cipher(after), ck2, "v2 data");

        try (KmsCiphers restarted = newCiphers()) {
            assertEquals("v1 data", open(restarted.cipher(before), ck1, s1));
            assertEquals("v2 data", open(restarted.cipher(after), ck2, s2));
        }
        List<Integer> generated = audit("GenerateDataKey").stream().filter(n -> n.path("keyId").asText().equals(key))
                .map(n -> n.path("keyVersion").asInt()).toList();
        List<Integer> unwrapped = audit("Decrypt").stream().filter(n -> n.path("keyId").asText().equals(key))
                .map(n -> n.path("keyVersion").asInt()).sorted().toList();
        assertEquals(List.of(1, 2), generated);
        assertEquals(List.of(1, 2), unwrapped, "the old version still unwraps after the rotation");
    }

    @Test
    void aTamperedWrappedKeyIsAnIoError() throws Exception {
        CipherSource.NewKey k = ciphers.newDataKey("fs-00000012", null, "admin");
        byte[] wrapped = Base64.getDecoder().decode(k.wrappedDataKey());
        wrapped[wrapped.length - 5] ^= 0x01;
        FileSystemRecord tampered = record("fs-00000012",
                new CipherSource.NewKey(k.keyId(), Base64.getEncoder().encodeToString(wrapped)));
        try (KmsCiphers fresh = newCiphers()) {
            IoException e = assertThrows(IoException.class, () -> fresh.cipher(tampered));
            assertTrue(e.getMessage().contains("invalid"), e.getMessage());
            IoException notBase64 = assertThrows(IoException.class,
                    () -> fresh.cipher(record("fs-00000013", new CipherSource.NewKey(k.keyId(), "not base64!"))));
            assertTrue(notBase64.getMessage().contains("base64"), notBase64.getMessage());
            // The untouched record still works: the refusal is tied to the wrapped key it was about.
            fresh.cipher(record("fs-00000012", k));
        }
        // The cache of the creating instance must not hide the tampering either.
        assertThrows(IoException.class, () -> ciphers.cipher(tampered));
    }

    @Test
    void aWrappedKeyMovedToAnotherFileSystemIsRefused() throws Exception {
        CipherSource.NewKey k = ciphers.newDataKey("fs-00000014", null, "admin");
        FileSystemRecord moved = record("fs-00000015", k);
        IoException e = assertThrows(IoException.class, () -> ciphers.cipher(moved));
        assertTrue(e.getMessage().contains("fs-00000015"), e.getMessage());
        assertEquals("refused", audit("Decrypt").get(0).path("outcome").asText());
        assertEquals("InvalidCiphertext", audit("Decrypt").get(0).path("errorCode").asText());
    }

    @Test
    void anUnreachableKmsIsAnIoErrorAndRecovers() throws Exception {
        String key = kms.createKey(CreateKeyRequest.of("remote", "flaky"), "admin").keyId().toString();
        FileSystemRecord rec = record("fs-00000016", ciphers.newDataKey("fs-00000016", key, "admin"));
        ciphers.cipher(rec);
        flaky.unavailable = true;
        advance(TTL);
        IoException e = assertThrows(IoException.class, () -> ciphers.cipher(rec));
        assertTrue(e.getMessage().contains("unreachable"), e.getMessage());
        assertEquals(1, errorLines("fs-00000016", key, "UNREACHABLE"));
        flaky.unavailable = false;
        advance(FAILURE_TTL);
        ciphers.cipher(rec);
    }

    @Test
    void aSlowKmsCallForOneFileSystemDoesNotBlockAnother() throws Exception {
        String slowKey = kms.createKey(CreateKeyRequest.of("slow", "flaky"), "admin").keyId().toString();
        FileSystemRecord slow = record("fs-00000017", ciphers.newDataKey("fs-00000017", slowKey, "admin"));
        FileSystemRecord quick = record("fs-00000018", ciphers.newDataKey("fs-00000018", null, "admin"));
        advance(TTL);
        flaky.block = new CountDownLatch(1);
        CompletableFuture<FsCipher> stuck = CompletableFuture.supplyAsync(() -> {
            try {
                return ciphers.cipher(slow);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        assertTrue(flaky.entered.await(10, TimeUnit.SECONDS), "the slow unwrap is under way");
        CompletableFuture<FsCipher> other = CompletableFuture.supplyAsync(() -> {
            try {
                return ciphers.cipher(quick);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        assertTrue(other.get(5, TimeUnit.SECONDS).encrypting(), "another file system's unwrap went ahead");
        assertFalse(stuck.isDone());
        flaky.block.countDown();
        assertTrue(stuck.get(10, TimeUnit.SECONDS).encrypting());
    }

    @Test
    void creatingUnderAMissingOrDisabledKeyGivesAClearAdminError() throws Exception {
        FsException missing = assertThrows(NoEntException.class,
                () -> ciphers.newDataKey("fs-00000019", "alias/nope", "admin"));
        assertTrue(missing.getMessage().contains("alias/nope"), missing.getMessage());
        String key = customerKey();
        kms.disableKey(key, "admin");
        FsException disabled = assertThrows(AccessException.class, () -> ciphers.newDataKey("fs-00000019", key, "admin"));
        assertTrue(disabled.getMessage().contains("DISABLED"), disabled.getMessage());
    }

    @Test
    void unencryptedFileSystemsNeedNoKey() throws Exception {
        FileSystemRecord plain = new FileSystemRecord("fs-0000001a", 1, null, 0, false, null, null, 65536, 1, null,
                FileSystemRecord.STATE_AVAILABLE);
        assertFalse(ciphers.cipher(plain).encrypting());
        assertEquals(0, audit("Decrypt").size());
    }

    @Test
    void forgetAndCloseDestroyCachedCiphers() throws Exception {
        FileSystemRecord rec = record("fs-0000001b", ciphers.newDataKey("fs-0000001b", null, "admin"));
        FsCipher c = ciphers.cipher(rec);
        assertEquals(1, ciphers.cachedKeys());
        ciphers.forget("fs-0000001b");
        assertEquals(0, ciphers.cachedKeys());
        ciphers.sweep();
        assertThrows(IllegalStateException.class, () -> seal(c, new ChunkKey(0x1b, 1, 0, 1), "x"));
        FsCipher again = ciphers.cipher(rec);
        ciphers.close();
        assertThrows(IllegalStateException.class, () -> seal(again, new ChunkKey(0x1b, 1, 0, 1), "x"));
        assertThrows(IoException.class, () -> ciphers.cipher(rec));
    }

    @Test
    void theSweeperEvictsIdleKeys() throws Exception {
        FileSystemRecord rec = record("fs-0000001c", ciphers.newDataKey("fs-0000001c", null, "admin"));
        FsCipher c = ciphers.cipher(rec);
        advance(TTL.minusSeconds(1));
        ciphers.sweep();
        assertEquals(1, ciphers.cachedKeys());
        advance(Duration.ofSeconds(1));
        ciphers.sweep();
        assertEquals(0, ciphers.cachedKeys(), "no key material is kept past its lease");
        ciphers.sweep();
        assertThrows(IllegalStateException.class, () -> seal(c, new ChunkKey(0x1c, 1, 0, 1), "x"));
    }

    /** A clock the test moves by hand (the KMS's deletion windows). */
    static final class MutableClock extends Clock {
        private volatile Instant now;

        MutableClock(Instant start) {
            now = start;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
