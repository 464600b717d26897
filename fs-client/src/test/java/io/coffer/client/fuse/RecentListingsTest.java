package io.coffer.client.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.core.DirEntry;
import io.coffer.core.FileHandle;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the kept listings hold: bounded, and nothing from before a change. */
class RecentListingsTest {
    static List<DirEntry> entries(int n) {
        List<DirEntry> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(new DirEntry("e" + i, 10L * (i + 1), null, null));
        }
        return l;
    }

    static FileHandle dir(long inode) {
        return new FileHandle(1, inode, 1);
    }

    @Test
    void memoryStaysBoundedHoweverManyDirectoriesAreListed() {
        RecentListings r = new RecentListings(60_000_000_000L);
        for (int i = 0; i < 5000; i++) {
            r.put("/d" + i, dir(i), entries(i % 50), r.stamp(), System.nanoTime());
            assertTrue(r.held() <= RecentListings.MAX_HELD, "held " + r.held());
        }
        assertNotNull(r.get("/d4999", dir(4999)), "the newest is kept");
        for (int i = 0; i < 2000; i++) {
            r.put("/e" + i, dir(10_000 + i), List.of(), r.stamp(), System.nanoTime());
        }
        assertNull(r.get("/d4999", dir(4999)), "no more than " + RecentListings.MAX_DIRS + " directories");
    }

    @Test
    void aDirectoryTooLargeForOneReaddirIsNotKept() {
        RecentListings r = new RecentListings(60_000_000_000L);
        r.put("/big", dir(1), entries(RecentListings.MAX_ENTRIES + 1), r.stamp(), System.nanoTime());
        assertNull(r.get("/big", dir(1)));
        assertEquals(0, r.held());
    }

    @Test
    void aChangeRetiresEveryListingAndTheNextPutDropsThem() {
        RecentListings r = new RecentListings(60_000_000_000L);
        r.put("/a", dir(1), entries(100), r.stamp(), System.nanoTime());
        r.put("/b", dir(2), entries(100), r.stamp(), System.nanoTime());
        assertEquals(200, r.held());
        r.changed();
        assertNull(r.get("/a", dir(1)));
        assertNull(r.get("/b", dir(2)));
        r.put("/c", dir(3), entries(5), r.stamp(), System.nanoTime());
        assertEquals(5, r.held(), "the listings from before the change are gone");
        assertNotNull(r.get("/c", dir(3)));
    }

    @Test
    void aListingStampedBeforeAChangeIsNotKept() {
        RecentListings r = new RecentListings(60_000_000_000L);
        long stamp = r.stamp();
        r.changed();
        r.put("/a", dir(1), entries(3), stamp, System.nanoTime());
        assertNull(r.get("/a", dir(1)));
    }
}
