package io.coffer.client.fuse;

import io.coffer.core.DirEntry;
import io.coffer.core.FileHandle;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Whole listings of small directories, read again by a new directory stream within the entry
 * timeout. {@code rm -r} opens every directory twice in a row (once to see whether it is empty,
 * then to remove what it holds), and each open read the listing from the server again.
 *
 * <p>A listing is given again only while nothing in this mount has added, removed or renamed a
 * name anywhere since it was fetched: every such call counts a change when it starts and when it
 * ends, a listing fetched while one ran is not kept, and any change retires every kept listing.
 * So a process never sees its own mount's changes undone. Another client's change shows within
 * the entry timeout, as names already do (docs/operations.md).
 */
final class RecentListings {
    /** Larger directories take several READDIRs and are not kept. */
    static final int MAX_ENTRIES = 4096;
    /** Entries kept in all (~200 bytes each: the daemon's heap is small), and directories. */
    static final int MAX_HELD = 8192;
    static final int MAX_DIRS = 512;

    private record Listing(FileHandle dir, List<DirEntry> entries, long change, long fetchedAt) {
    }

    private final AtomicLong changes = new AtomicLong();
    private final ConcurrentHashMap<String, Listing> byPath = new ConcurrentHashMap<>();
    private final long ttlNanos;
    /** The change count the kept listings were fetched under, and their entries (under this lock). */
    private long keptChange = -1;
    private int held;

    RecentListings(long ttlNanos) {
        this.ttlNanos = ttlNanos;
    }

    /** Read before a fetch: {@link #put} keeps its result only if no change came in between. */
    long stamp() {
        return changes.get();
    }

    /** A name is about to be, or has just been, added, removed or renamed through this mount. */
    void changed() {
        changes.incrementAndGet();
    }

    /** The kept listing of {@code path} if it is still good for the directory {@code dir}, else null. */
    List<DirEntry> get(String path, FileHandle dir) {
        Listing l = byPath.get(path);
        if (l == null || l.change != changes.get() || !Objects.equals(l.dir, dir)
                || System.nanoTime() - l.fetchedAt > ttlNanos) {
            return null;
        }
        return l.entries;
    }

    synchronized void put(String path, FileHandle dir, List<DirEntry> entries, long stamp, long fetchedAt) {
        if (entries.size() > MAX_ENTRIES || stamp != changes.get()) {
            return;
        }
        // Listings from before a change are dead: drop them rather than let them hold memory.
        if (keptChange != stamp || held + entries.size() > MAX_HELD || byPath.size() >= MAX_DIRS) {
            byPath.clear();
            held = 0;
            keptChange = stamp;
        }
        Listing old = byPath.put(path, new Listing(dir, List.copyOf(entries), stamp, fetchedAt));
        held += entries.size() - (old == null ? 0 : old.entries.size());
    }

    /** Entries kept now (for tests). */
    synchronized int held() {
        return held;
    }
}
