package io.coffer.client.fuse;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Extended attributes known to be absent, per inode, for the attribute timeout. The kernel asks
 * for {@code security.capability} before every write to a file, so each file written holds one
 * entry here for a while. Entries are small (one immutable link per name, almost always one) and
 * expired ones are dropped every two seconds: a map per inode, kept until 50,000 inodes, held
 * ~14 MiB of the daemon's heap after a few tens of thousands of files.
 */
final class AbsentXattrs {
    private static final long SWEEP_EVERY_NANOS = 2_000_000_000L;

    private record Absent(String name, long until, Absent next) {
    }

    private final ConcurrentHashMap<Long, Absent> byInode = new ConcurrentHashMap<>();
    private final long ttlNanos;
    private final AtomicLong nextSweep;

    AbsentXattrs(long ttlNanos, long now) {
        this.ttlNanos = ttlNanos;
        this.nextSweep = new AtomicLong(now + SWEEP_EVERY_NANOS);
    }

    boolean known(long inode, String name, long now) {
        for (Absent a = byInode.get(inode); a != null; a = a.next) {
            if (a.name.equals(name)) {
                return a.until - now > 0;
            }
        }
        return false;
    }

    void note(long inode, String name, long now) {
        long until = now + ttlNanos;
        byInode.compute(inode, (k, old) -> new Absent(name, until, without(old, name, now)));
        long due = nextSweep.get();
        if (now - due >= 0 && nextSweep.compareAndSet(due, now + SWEEP_EVERY_NANOS)) {
            byInode.values().removeIf(a -> without(a, null, now) == null);
        }
    }

    /** Forgets what is known of {@code inode}'s attributes (this mount changed them). */
    void forget(long inode) {
        byInode.remove(inode);
    }

    /** Inodes with something known, for tests. */
    int size() {
        return byInode.size();
    }

    /** The list without {@code name} and without expired links (null if nothing is left). */
    private static Absent without(Absent list, String name, long now) {
        if (list == null) {
            return null;
        }
        Absent rest = without(list.next, name, now);
        if (list.name.equals(name) || list.until - now <= 0) {
            return rest;
        }
        return rest == list.next ? list : new Absent(list.name, list.until, rest);
    }
}
