package io.coffer.client.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PageCacheChangesTest {
    @Test
    void theLastValuePutIsTheOneReturned() {
        PageCacheChanges t = new PageCacheChanges(1024);
        assertNull(t.get(42));
        t.put(42, 7);
        t.put(43, 9);
        assertEquals(7L, t.get(42));
        t.put(42, 8);
        assertEquals(8L, t.get(42));
        assertEquals(9L, t.get(43));
        assertEquals(2, t.size(), "an update takes no second slot");
    }

    @Test
    void inodeZeroIsNeverKept() {
        PageCacheChanges t = new PageCacheChanges(4);
        t.put(0, 5);
        assertNull(t.get(0));
        assertEquals(0, t.size());
    }

    @Test
    void aFullSetForgetsItsOlderEntry() {
        // One set: every inode competes for the same two slots.
        PageCacheChanges t = new PageCacheChanges(1);
        t.put(1, 10);
        t.put(2, 20);
        assertEquals(10L, t.get(1));
        assertEquals(20L, t.get(2));
        t.put(3, 30);
        assertNull(t.get(1), "the older of the two gave way");
        assertEquals(20L, t.get(2));
        assertEquals(30L, t.get(3));
        // Touching the older entry makes it the newer one.
        t.put(2, 21);
        t.put(4, 40);
        assertNull(t.get(3));
        assertEquals(21L, t.get(2));
        assertEquals(40L, t.get(4));
        assertEquals(2, t.size());
    }

    @Test
    void manyMoreInodesThanSlotsNeverGiveAnotherInodesValue() {
        PageCacheChanges t = new PageCacheChanges(64);
        Map<Long, Long> last = new HashMap<>();
        Random r = new Random(1);
        for (int i = 0; i < 100_000; i++) {
            long inode = 1 + r.nextInt(5_000);
            long change = r.nextLong();
            t.put(inode, change);
            last.put(inode, change);
        }
        int kept = 0;
        for (Map.Entry<Long, Long> e : last.entrySet()) {
            Long got = t.get(e.getKey());
            if (got != null) {
                assertEquals(e.getValue(), got, "inode " + e.getKey());
                kept++;
            }
        }
        assertEquals(128, t.size(), "every slot in use");
        assertEquals(128, kept);
    }

    @Test
    void recentInodesStayWhenTheTableHasRoom() {
        PageCacheChanges t = new PageCacheChanges(1 << 15);
        for (long inode = 1; inode <= 20_000; inode++) {
            t.put(inode, inode * 3);
        }
        int kept = 0;
        for (long inode = 1; inode <= 20_000; inode++) {
            Long got = t.get(inode);
            if (got != null) {
                assertEquals(inode * 3, got);
                kept++;
            }
        }
        // 20,000 inodes in 32,768 two-way sets: even a random spread would lose only ~5% to sets
        // that drew a third inode; consecutive inodes, as a server hands them out, lose fewer.
        assertTrue(kept > 19_000, "kept " + kept);
    }

    @Test
    void theSizeMustBeAPowerOfTwo() {
        assertThrows(IllegalArgumentException.class, () -> new PageCacheChanges(0));
        assertThrows(IllegalArgumentException.class, () -> new PageCacheChanges(3));
    }
}
