package io.coffer.server.fs;

import io.coffer.core.LockRange;
import io.coffer.core.LockType;
import io.coffer.core.status.AgainException;
import io.coffer.server.meta.KeySpace;
import io.coffer.server.meta.Keys;
import io.coffer.server.meta.MetaReader;
import io.coffer.server.meta.MetaTxn;
import io.coffer.server.meta.MetadataStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Byte-range (fcntl) and whole-file (flock) locks, kept in the metadata store so they survive a
 * server restart and are shared by every server process on the same store. Locks belong to a
 * client session; a client renews its lease by talking to the server, and the locks of a
 * client silent for longer than the lease are released (as NLM and NFSv4 do). As on Linux's
 * local file systems, flock and fcntl locks do not conflict with each other.
 */
public final class LockTable {
    private static final Logger log = LoggerFactory.getLogger(LockTable.class);

    private final MetadataStore store;
    private final Clock clock;
    private final long leaseMillis;
    private final Map<UUID, Long> lastSeen = new ConcurrentHashMap<>();
    private final long startedMillis;

    LockTable(MetadataStore store, Clock clock, long leaseMillis) {
        this.store = store;
        this.clock = clock;
        this.leaseMillis = leaseMillis;
        this.startedMillis = clock.millis();
    }

    /** A held lock as stored. */
    record Held(UUID client, long owner, boolean flock, LockType type, long start, long length, int pid) {
        long end() {
            return length == 0 ? Long.MAX_VALUE : start + length;
        }

        boolean sameOwner(UUID c, long o, boolean f) {
            return client.equals(c) && owner == o && flock == f;
        }

        LockRange range() {
            return new LockRange(type, start, length, owner, pid, flock);
        }
    }

    /** Notes that {@code client} is alive, renewing its lease. */
    public void touch(UUID client) {
        lastSeen.put(client, clock.millis());
    }

    private static byte[] mutexKey(int fs, long ino) {
        return Keys.fsIno(fs, ino);
    }

    private static byte[] lockKey(int fs, long ino, Held h) {
        return ByteBuffer.allocate(12 + 16 + 8 + 1 + 8).putInt(fs).putLong(ino)
                .putLong(h.client.getMostSignificantBits()).putLong(h.client.getLeastSignificantBits())
                .putLong(h.owner).put((byte) (h.flock ? 1 : 0)).putLong(h.start).array();
    }

    private static Held decode(byte[] k, byte[] v) {
        ByteBuffer kb = ByteBuffer.wrap(k);
        kb.position(12);
        UUID c = new UUID(kb.getLong(), kb.getLong());
        long owner = kb.getLong();
        boolean flock = kb.get() != 0;
        long start = kb.getLong();
        ByteBuffer vb = ByteBuffer.wrap(v);
        LockType type = LockType.values()[vb.get()];
        long len = vb.getLong();
        int pid = vb.getInt();
        return new Held(c, owner, flock, type, start, len, pid);
    }

    private static byte[] encodeValue(Held h) {
        return ByteBuffer.allocate(13).put((byte) h.type.ordinal()).putLong(h.length).putInt(h.pid).array();
    }

    private List<Held> held(MetaReader r, int fs, long ino) throws IOException {
        List<Held> out = new ArrayList<>();
        r.scan(KeySpace.LOCKS, Keys.fsIno(fs, ino), null, (k, v) -> {
            if (k.length > 12) {
                out.add(decode(k, v));
            }
            return true;
        });
        return out;
    }

    private static Held conflict(List<Held> held, UUID client, LockRange want) {
        for (Held h : held) {
            if (h.flock != want.flock() || h.sameOwner(client, want.owner(), want.flock())) {
                continue;
            }
            boolean overlap = h.start < want.end() && want.start() < h.end();
            if (overlap && (h.type == LockType.WRITE || want.type() == LockType.WRITE)) {
                return h;
            }
        }
        return null;
    }

    LockRange test(int fs, long ino, UUID client, LockRange want) throws IOException {
        touch(client);
        Held c = store.read(r -> conflict(held(r, fs, ino), client, want));
        return c == null ? null : c.range();
    }

    interface TxnHook {
        void run(MetaTxn t) throws IOException;
    }

    /**
     * Takes, changes or releases a lock. {@code beforeStore} runs in the same transaction before
     * any lock row changes, whenever the request may leave a row stored (it takes or changes a
     * lock, or cuts one the inode holds): the inode record must then say that locks may exist,
     * or removing its last link would leave them behind. {@code hook} runs last.
     */
    void lock(int fs, long ino, UUID client, LockRange want, TxnHook beforeStore, TxnHook hook) throws IOException {
        touch(client);
        store.write(t -> {
            t.getForUpdate(KeySpace.LOCKS, mutexKey(fs, ino));
            List<Held> all = held(t, fs, ino);
            if (want.type() != LockType.UNLOCK) {
                Held c = conflict(all, client, want);
                if (c != null) {
                    throw new AgainException("lock held by another owner (pid " + c.pid + ")");
                }
            }
            // Before the rows: unlink locks the inode record first and then deletes them, so the
            // same order here cannot deadlock against it.
            if (want.type() != LockType.UNLOCK || !all.isEmpty()) {
                beforeStore.run(t);
            }
            // Replace this owner's locks over the range: cut them around it, then add the new one.
            for (Held h : all) {
                if (!h.sameOwner(client, want.owner(), want.flock())) {
                    continue;
                }
                boolean overlap = h.start < want.end() && want.start() < h.end();
                boolean adjacentSame = h.type == want.type() && (h.end() == want.start() || want.end() == h.start);
                if (!overlap && !adjacentSame) {
                    continue;
                }
                t.delete(KeySpace.LOCKS, lockKey(fs, ino, h));
                if (!overlap) {
                    continue;
                }
                if (h.start < want.start()) {
                    Held left = new Held(client, h.owner, h.flock, h.type, h.start, want.start() - h.start, h.pid);
                    t.put(KeySpace.LOCKS, lockKey(fs, ino, left), encodeValue(left));
                }
                if (h.end() > want.end()) {
                    long len = h.end() == Long.MAX_VALUE ? 0 : h.end() - want.end();
                    Held right = new Held(client, h.owner, h.flock, h.type, want.end(), len, h.pid);
                    t.put(KeySpace.LOCKS, lockKey(fs, ino, right), encodeValue(right));
                }
            }
            if (want.type() != LockType.UNLOCK) {
                long start = want.start();
                long end = want.end();
                // Merge with adjacent ranges of the same type so the table stays small.
                for (Held h : all) {
                    if (h.sameOwner(client, want.owner(), want.flock()) && h.type == want.type()) {
                        if (h.end() == start) {
                            start = h.start;
                        }
                        if (h.start == end) {
                            end = h.end();
                        }
                    }
                }
                Held n = new Held(client, want.owner(), want.flock(), want.type(), start,
                        end == Long.MAX_VALUE ? 0 : end - start, want.pid());
                t.put(KeySpace.LOCKS, lockKey(fs, ino, n), encodeValue(n));
            }
            hook.run(t);
            return null;
        });
    }

    /** Removes every lock on an inode (it was deleted; skipped when its record says it has none). */
    void dropAll(MetaTxn t, int fs, long ino) throws IOException {
        List<byte[]> keys = new ArrayList<>();
        t.scan(KeySpace.LOCKS, Keys.fsIno(fs, ino), null, (k, v) -> {
            keys.add(k);
            return true;
        });
        for (byte[] k : keys) {
            t.delete(KeySpace.LOCKS, k);
        }
    }

    /** Releases the locks of clients whose lease ran out; returns how many locks went. */
    public int expire() throws IOException {
        long now = clock.millis();
        List<byte[]> expired = new ArrayList<>();
        store.read(r -> {
            r.scan(KeySpace.LOCKS, new byte[0], null, (k, v) -> {
                if (k.length > 12) {
                    Held h = decode(k, v);
                    // Sessions unknown since our start got a full lease from the start: they may be reconnecting.
                    long seen = lastSeen.getOrDefault(h.client, startedMillis);
                    if (now - seen > leaseMillis) {
                        expired.add(k);
                    }
                }
                return true;
            });
            return null;
        });
        if (!expired.isEmpty()) {
            store.write(t -> {
                for (byte[] k : expired) {
                    t.delete(KeySpace.LOCKS, k);
                }
                return null;
            });
            log.info("released {} locks of clients whose lease expired", expired.size());
        }
        return expired.size();
    }
}
