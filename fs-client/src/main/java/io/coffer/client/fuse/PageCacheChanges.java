package io.coffer.client.fuse;

/**
 * For each recently opened or written inode, the change attribute its kernel page cache is known
 * to match (close-to-open: an open keeps the pages only if the file's change attribute still
 * equals it). A fixed table of two-way sets instead of a map: a map from boxed inode to boxed
 * change held ~88 bytes per inode ever opened, ~9 MiB of live heap at its 100,000-entry limit,
 * which after a listing of a large tree kept the daemon's old generation nearly full
 * (docs/performance.md). Forgetting an entry is always safe (the next open drops the pages and
 * reads again), so when both slots of a set are taken the older entry gives way. Answers are
 * never wrong: {@link #get} returns the last value put for that inode, or nothing.
 */
final class PageCacheChanges {
    /** Absent: no inode is 0 (an entry for it is not kept). */
    private static final long EMPTY = 0;

    private final long[] inodes;
    private final long[] changes;
    private final int setMask;
    private final int shift;

    /** @param sets a power of two; the table holds up to twice as many inodes */
    PageCacheChanges(int sets) {
        if (sets <= 0 || Integer.bitCount(sets) != 1) {
            throw new IllegalArgumentException("sets must be a power of two: " + sets);
        }
        inodes = new long[2 * sets];
        changes = new long[2 * sets];
        setMask = sets - 1;
        shift = 64 - Integer.numberOfTrailingZeros(sets);
    }

    /** Slot of the newer entry of the set {@code inode} falls in; the older is the next one. */
    private int setOf(long inode) {
        // Fibonacci hashing: the top bits of the product spread consecutive inodes evenly.
        return ((int) ((inode * 0x9E3779B97F4A7C15L) >>> shift) & setMask) << 1;
    }

    /** The change attribute last recorded for {@code inode}, or null. */
    synchronized Long get(long inode) {
        if (inode == EMPTY) {
            return null;
        }
        int i = setOf(inode);
        if (inodes[i] == inode) {
            return changes[i];
        }
        if (inodes[i + 1] == inode) {
            return changes[i + 1];
        }
        return null;
    }

    /** Records {@code change} for {@code inode}, as the newer entry of its set. */
    synchronized void put(long inode, long change) {
        if (inode == EMPTY) {
            return;
        }
        int i = setOf(inode);
        if (inodes[i] != inode) {
            // The newer entry becomes the older one; whatever was older is forgotten, as is a
            // second copy of this inode in the older slot.
            inodes[i + 1] = inodes[i];
            changes[i + 1] = changes[i];
            inodes[i] = inode;
        }
        changes[i] = change;
    }

    /** Inodes held, for tests. */
    synchronized int size() {
        int n = 0;
        for (long x : inodes) {
            if (x != EMPTY) {
                n++;
            }
        }
        return n;
    }
}
