package io.coffer.server.crypto;

import io.coffer.core.FileSystemId;
import io.coffer.core.FsException;
import io.coffer.core.status.AccessException;
import io.coffer.core.status.ExistException;
import io.coffer.core.status.InvalException;
import io.coffer.core.status.IoException;
import io.coffer.core.status.NoEntException;
import io.coffer.kms.AlreadyExistsException;
import io.coffer.kms.DataKey;
import io.coffer.kms.InvalidCiphertextException;
import io.coffer.kms.InvalidKeyStateException;
import io.coffer.kms.InvalidRequestException;
import io.coffer.kms.Kms;
import io.coffer.kms.KmsAccessDeniedException;
import io.coffer.kms.KmsException;
import io.coffer.kms.KmsUnavailableException;
import io.coffer.kms.NotFoundException;
import io.coffer.server.fs.CipherSource;
import io.coffer.server.fs.FileSystemRecord;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ciphers of encrypted file systems, with data keys from a {@link Kms} (envelope encryption).
 *
 * <p>A new file system gets a data key from {@link Kms#generateDataKey} under its CMK; the catalog
 * keeps only the wrapped form. {@link #cipher} unwraps it with {@link Kms#decrypt} and keeps the
 * resulting {@link AesGcmCipher} for {@link Options#ttl()}: the KMS is called once per file
 * system and lease, never per file operation. When a lease ends the key is unwrapped again, so a
 * CMK that was disabled, scheduled for deletion or deleted (or a KMS that became unreachable)
 * makes its file systems fail within one lease: EACCES when the key's state or policy refuses,
 * EIO when the key is gone, the wrapped key is invalid, or the KMS cannot be reached. Refusals
 * are remembered for only {@link Options#failureTtl()}, so enabling the key again restores
 * access within seconds.
 *
 * <p>Both the encryption context {@code {"coffer:fs-id": id}} and the AES-GCM associated data
 * bind a data key to its file system: a wrapped key copied into another file system's record is
 * refused by the KMS.
 *
 * <p>Thread-safe. Each file system has its own lock, held while its key is unwrapped, so one
 * slow KMS call only delays operations of that file system; the hit path takes no lock. Ciphers
 * that leave the cache are destroyed after {@link Options#retireGrace()}, long enough for
 * operations that fetched them just before to finish.
 */
public final class KmsCiphers implements CipherSource, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KmsCiphers.class);

    /** The encryption-context entry that binds a wrapped data key to its file system. */
    public static final String CONTEXT_FS_ID = "coffer:fs-id";
    /** The principal the server's unwrapping calls are audited under. */
    public static final String PRINCIPAL = "server";

    /**
     * Cache settings.
     *
     * @param ttl how long an unwrapped key is used before the KMS is asked again; this bounds how
     *     long a disabled CMK keeps its file systems readable
     * @param failureTtl how long a refusal is answered from memory before the KMS is asked again
     * @param retireGrace how long a cipher that left the cache stays intact for operations in flight
     * @param logInterval least time between two log lines about the same file system's refusals
     * @param nanoTime the monotonic clock, in nanoseconds (injectable for tests)
     * @param sweep whether a background thread evicts expired keys and destroys retired ciphers
     *     (tests call {@link #sweep()} themselves)
     */
    public record Options(Duration ttl, Duration failureTtl, Duration retireGrace, Duration logInterval,
            LongSupplier nanoTime, boolean sweep) {
        public Options {
            Objects.requireNonNull(nanoTime, "nanoTime");
            if (ttl == null || ttl.isNegative() || ttl.isZero()) {
                throw new IllegalArgumentException("key cache TTL must be positive");
            }
            if (failureTtl == null || failureTtl.isNegative() || failureTtl.compareTo(ttl) > 0) {
                throw new IllegalArgumentException("failure TTL must be between 0 and the key cache TTL");
            }
            if (retireGrace == null || retireGrace.isNegative() || logInterval == null || logInterval.isNegative()) {
                throw new IllegalArgumentException("grace and log interval must not be negative");
            }
        }

        /** 5 minutes per key, refusals remembered for 2 s, 30 s grace, one refusal line per 30 s per file system. */
        public static Options defaults() {
            return new Options(Duration.ofMinutes(5), Duration.ofSeconds(2), Duration.ofSeconds(30),
                    Duration.ofSeconds(30), System::nanoTime, true);
        }

        /** These options with another key cache TTL; the failure TTL shrinks with it if needed. */
        public Options withTtl(Duration t) {
            Duration f = failureTtl.compareTo(t) > 0 ? t : failureTtl;
            return new Options(t, f, retireGrace, logInterval, nanoTime, sweep);
        }
    }

    private final Kms kms;
    private final Options options;
    private final PlainCipher plain = new PlainCipher();
    private final Map<String, Slot> slots = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Retired> retired = new ConcurrentLinkedQueue<>();
    private final ScheduledExecutorService sweeper;
    private volatile boolean closed;

    /** The key of one file system as cached: usable until {@code expires}. */
    private record Lease(AesGcmCipher cipher, String wrapped, long expires) {
    }

    /** A remembered refusal: the same error is answered until {@code until}. */
    private record Refusal(boolean access, String message, String wrapped, long until) {
        FsException exception() {
            return access ? new AccessException(message) : new IoException(message);
        }
    }

    private record Retired(AesGcmCipher cipher, long closeAt) {
    }

    /** One file system's cache entry. Its lock is held while its key is unwrapped. */
    private static final class Slot {
        final ReentrantLock lock = new ReentrantLock();
        volatile Lease lease;
        volatile Refusal refusal;
        /** Set once the slot left the map; a loader holding it must start over. Guarded by lock. */
        boolean dead;
        /** Guarded by lock: what was last logged about a refusal, and when. */
        String loggedState;
        long loggedAt;
        boolean refused;
    }

    public KmsCiphers(Kms kms, Options options) {
        this.kms = Objects.requireNonNull(kms, "kms");
        this.options = Objects.requireNonNull(options, "options");
        if (options.sweep()) {
            sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "key-cache-sweeper");
                t.setDaemon(true);
                return t;
            });
            long period = Math.max(100, Math.min(1000, options.ttl().toMillis() / 2));
            sweeper.scheduleWithFixedDelay(this::sweepQuietly, period, period, TimeUnit.MILLISECONDS);
        } else {
            sweeper = null;
        }
    }

    public KmsCiphers(Kms kms) {
        this(kms, Options.defaults());
    }

    /** The encryption context every data key of {@code fsId} is wrapped with. */
    public static Map<String, String> context(String fsId) {
        return Map.of(CONTEXT_FS_ID, fsId);
    }

    private long now() {
        return options.nanoTime().getAsLong();
    }

    private static boolean before(long now, long deadline) {
        return now - deadline < 0;
    }

    @Override
    public FsCipher cipher(FileSystemRecord fs) throws IOException {
        if (!fs.encrypted()) {
            return plain;
        }
        if (fs.wrappedDataKey() == null || fs.wrappedDataKey().isEmpty()) {
            throw new IoException("file system " + fs.id() + " is encrypted but its record holds no wrapped data key");
        }
        while (true) {
            checkOpen();
            Slot s = slots.computeIfAbsent(fs.id(), id -> new Slot());
            FsCipher hit = cached(s, fs, now());
            if (hit != null) {
                return hit;
            }
            s.lock.lock();
            try {
                if (s.dead) {
                    continue;
                }
                hit = cached(s, fs, now());
                if (hit != null) {
                    return hit;
                }
                return unwrap(s, fs);
            } finally {
                s.lock.unlock();
            }
        }
    }

    @Override
    public boolean ready(FileSystemRecord fs) {
        if (!fs.encrypted()) {
            return true;
        }
        Slot s = slots.get(fs.id());
        try {
            return s != null && cached(s, fs, now()) != null;
        } catch (FsException refused) {
            return true;
        }
    }

    /** The cached cipher, or the remembered refusal thrown, or null when the KMS must be asked. */
    private FsCipher cached(Slot s, FileSystemRecord fs, long now) throws FsException {
        Lease l = s.lease;
        if (l != null && before(now, l.expires()) && l.wrapped().equals(fs.wrappedDataKey())) {
            return l.cipher();
        }
        Refusal r = s.refusal;
        if (r != null && before(now, r.until()) && r.wrapped().equals(fs.wrappedDataKey())) {
            throw r.exception();
        }
        return null;
    }

    /** Asks the KMS for the data key; the caller holds the slot's lock (and only that lock). */
    private FsCipher unwrap(Slot s, FileSystemRecord fs) throws IOException {
        byte[] wrapped;
        try {
            wrapped = Base64.getDecoder().decode(fs.wrappedDataKey());
        } catch (IllegalArgumentException e) {
            throw refuse(s, fs, new RefusalInfo(false, "INVALID_CIPHERTEXT", fs.kmsKeyId(),
                    "its wrapped data key is not valid base64", "the catalog record is corrupt"));
        }
        Lease old = s.lease;
        try (DataKey dk = kms.decrypt(wrapped, context(fs.id()), PRINCIPAL)) {
            long expires = now() + options.ttl().toNanos();
            AesGcmCipher cipher;
            if (old != null && old.wrapped().equals(fs.wrappedDataKey())) {
                // The same wrapped key gives the same data key: the KMS has renewed the lease, so the
                // derived keys (and their per-file cache) stay as they are.
                cipher = old.cipher();
            } else {
                byte[] raw = dk.plaintext();
                try {
                    cipher = new AesGcmCipher(FileSystemId.parse(fs.id()).value(), raw);
                } finally {
                    Arrays.fill(raw, (byte) 0);
                }
                if (old != null) {
                    retire(old.cipher());
                }
            }
            s.lease = new Lease(cipher, fs.wrappedDataKey(), expires);
            s.refusal = null;
            if (s.refused) {
                s.refused = false;
                s.loggedState = null;
                log.info("file system {} is accessible again: KMS key {} (version {}) unwrapped its data key",
                        fs.id(), dk.keyId(), dk.keyVersion());
            }
            return cipher;
        } catch (KmsException e) {
            throw refuse(s, fs, describe(fs, e));
        } catch (IllegalStateException e) {
            // The KMS was closed under us: the server is stopping.
            throw new IoException("file system " + fs.id() + " is not accessible: the KMS is closed");
        }
    }

    /**
     * Why a key is refused: {@code state} is the key's state or what went wrong (for the log line),
     * {@code reason} ends the client's error message, {@code hint} tells the operator what to do.
     */
    private record RefusalInfo(boolean access, String state, String keyId, String reason, String hint) {
    }

    private static RefusalInfo describe(FileSystemRecord fs, KmsException e) {
        String keyId = fs.kmsKeyId() == null ? "(unknown)" : fs.kmsKeyId();
        if (e instanceof InvalidKeyStateException ike) {
            String id = ike.keyId().toString();
            return new RefusalInfo(true, ike.state().name(), id, "its KMS key " + id + " is " + ike.state(),
                    ike.state() == io.coffer.kms.KeyState.DISABLED ? "enable the key to restore access"
                            : "cancel the key's deletion and enable it to restore access");
        }
        if (e instanceof KmsAccessDeniedException) {
            return new RefusalInfo(true, "ACCESS_DENIED", keyId, "the KMS refused the use of key " + keyId,
                    e.getMessage());
        }
        if (e instanceof NotFoundException) {
            return new RefusalInfo(false, "DELETED", keyId, "its KMS key " + keyId
                    + " no longer exists, so its data cannot be decrypted", e.getMessage());
        }
        if (e instanceof InvalidCiphertextException) {
            return new RefusalInfo(false, "INVALID_CIPHERTEXT", keyId,
                    "the KMS refused its wrapped data key as invalid (tampered, or not made for this file system)",
                    e.getMessage());
        }
        if (e instanceof KmsUnavailableException) {
            return new RefusalInfo(false, "UNREACHABLE", keyId, "the KMS holding key " + keyId + " is unreachable",
                    e.getMessage());
        }
        return new RefusalInfo(false, e.code(), keyId, "the KMS failed on key " + keyId, e.getMessage());
    }

    /** Drops the lease, remembers and logs the refusal; returns the exception to throw. */
    private FsException refuse(Slot s, FileSystemRecord fs, RefusalInfo info) {
        Lease old = s.lease;
        s.lease = null;
        if (old != null) {
            retire(old.cipher());
        }
        long now = now();
        String message = "file system " + fs.id() + " is not accessible: " + info.reason();
        Refusal r = new Refusal(info.access(), message, fs.wrappedDataKey(), now + options.failureTtl().toNanos());
        s.refusal = r;
        boolean changed = !info.state().equals(s.loggedState);
        if (changed || !before(now, s.loggedAt + options.logInterval().toNanos())) {
            s.loggedState = info.state();
            s.loggedAt = now;
            log.error("file system {} is inaccessible: KMS key {} is {}; its operations fail with {} ({}); "
                    + "this line repeats at most every {} s while it lasts", fs.id(), info.keyId(), info.state(),
                    info.access() ? "EACCES" : "EIO", info.hint(), options.logInterval().toSeconds());
        }
        s.refused = true;
        return r.exception();
    }

    @Override
    public NewKey newDataKey(String fsId, String kmsKey, String caller) throws IOException {
        checkOpen();
        String ref = kmsKey == null || kmsKey.isBlank() ? Kms.DEFAULT_KEY_ALIAS : kmsKey;
        String principal = caller == null || caller.isBlank() ? PRINCIPAL : caller;
        int fsNumber = FileSystemId.parse(fsId).value();
        try (DataKey dk = kms.generateDataKey(ref, context(fsId), principal)) {
            String wrapped = Base64.getEncoder().encodeToString(dk.wrapped());
            byte[] raw = dk.plaintext();
            AesGcmCipher cipher;
            try {
                cipher = new AesGcmCipher(fsNumber, raw);
            } finally {
                Arrays.fill(raw, (byte) 0);
            }
            // The new file system is used at once (its root directory is sealed next): lease the key
            // we already hold instead of unwrapping it again.
            Slot s = slots.computeIfAbsent(fsId, id -> new Slot());
            s.lock.lock();
            try {
                Lease old = s.lease;
                s.lease = new Lease(cipher, wrapped, now() + options.ttl().toNanos());
                s.refusal = null;
                if (old != null) {
                    retire(old.cipher());
                }
            } finally {
                s.lock.unlock();
            }
            log.info("data key for {} generated under KMS key {} version {}", fsId, dk.keyId(), dk.keyVersion());
            return new NewKey(dk.keyId().toString(), wrapped);
        } catch (KmsException e) {
            throw adminError("cannot make a data key for " + fsId + " under " + ref, e);
        } catch (IllegalStateException e) {
            throw new IoException("cannot make a data key for " + fsId + ": the KMS is closed");
        }
    }

    /** The status of a KMS failure during an administrative request. */
    public static FsException adminError(String what, KmsException e) {
        String m = what + ": " + e.getMessage();
        if (e instanceof NotFoundException) {
            return new NoEntException(m);
        }
        if (e instanceof AlreadyExistsException) {
            return new ExistException(m);
        }
        if (e instanceof InvalidRequestException) {
            return new InvalException(m);
        }
        if (e instanceof KmsAccessDeniedException || e instanceof InvalidKeyStateException) {
            return new AccessException(m);
        }
        return new IoException(m, e);
    }

    @Override
    public void forget(String fsId) {
        Slot s = slots.remove(fsId);
        if (s == null) {
            return;
        }
        s.lock.lock();
        try {
            s.dead = true;
            Lease l = s.lease;
            s.lease = null;
            s.refusal = null;
            if (l != null) {
                retire(l.cipher());
            }
        } finally {
            s.lock.unlock();
        }
    }

    private void retire(AesGcmCipher c) {
        retired.add(new Retired(c, now() + options.retireGrace().toNanos()));
    }

    /**
     * Evicts leases that ended (their file systems were not used since) and destroys retired
     * ciphers whose grace has passed. Runs in the background unless {@link Options#sweep()} is off.
     */
    public void sweep() {
        long now = now();
        for (Slot s : slots.values()) {
            Lease l = s.lease;
            if (l != null && !before(now, l.expires()) && s.lock.tryLock()) {
                try {
                    l = s.lease;
                    if (l != null && !before(now, l.expires())) {
                        s.lease = null;
                        retire(l.cipher());
                    }
                } finally {
                    s.lock.unlock();
                }
            }
        }
        List<Retired> keep = new ArrayList<>();
        Retired r;
        while ((r = retired.poll()) != null) {
            if (before(now, r.closeAt())) {
                keep.add(r);
            } else {
                r.cipher().close();
            }
        }
        retired.addAll(keep);
    }

    private void sweepQuietly() {
        try {
            sweep();
        } catch (RuntimeException e) {
            log.error("key cache sweep failed", e);
        }
    }

    /** How many file systems currently hold an unwrapped key (for tests and status). */
    public int cachedKeys() {
        int n = 0;
        for (Slot s : slots.values()) {
            if (s.lease != null) {
                n++;
            }
        }
        return n;
    }

    private void checkOpen() throws IoException {
        if (closed) {
            throw new IoException("the key cache is closed: the server is stopping");
        }
    }

    /** Destroys every cached and retired cipher now. Does not close the KMS, which the caller owns. */
    @Override
    public void close() {
        closed = true;
        if (sweeper != null) {
            sweeper.shutdownNow();
        }
        for (String id : new ArrayList<>(slots.keySet())) {
            forget(id);
        }
        Retired r;
        while ((r = retired.poll()) != null) {
            r.cipher().close();
        }
    }

    @Override
    public String toString() {
        return "KmsCiphers[ttl=" + options.ttl() + ", cached=" + cachedKeys() + "]";
    }
}
