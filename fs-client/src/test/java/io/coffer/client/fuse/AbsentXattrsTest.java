package io.coffer.client.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class AbsentXattrsTest {
    static final long SEC = 1_000_000_000L;
    static final String CAP = "security.capability";

    @Test
    void absenceHoldsForTheTimeoutOnlyAndPerName() {
        AbsentXattrs a = new AbsentXattrs(SEC, 0);
        a.note(7, CAP, 0);
        assertTrue(a.known(7, CAP, SEC / 2));
        assertFalse(a.known(7, "user.x", SEC / 2), "only the name asked for is known absent");
        assertFalse(a.known(8, CAP, SEC / 2), "only the inode asked about");
        assertFalse(a.known(7, CAP, SEC), "expired after the timeout");
    }

    @Test
    void severalNamesPerInodeAndForgettingThemAll() {
        AbsentXattrs a = new AbsentXattrs(SEC, 0);
        a.note(7, CAP, 0);
        a.note(7, "user.x", 10);
        a.note(7, CAP, 20);
        assertTrue(a.known(7, CAP, 30));
        assertTrue(a.known(7, "user.x", 30));
        a.forget(7);
        assertFalse(a.known(7, CAP, 30));
        assertFalse(a.known(7, "user.x", 30));
    }

    @Test
    void renotingExtendsTheTimeout() {
        AbsentXattrs a = new AbsentXattrs(SEC, 0);
        a.note(7, CAP, 0);
        a.note(7, CAP, SEC / 2);
        assertTrue(a.known(7, CAP, SEC + SEC / 4));
    }

    @Test
    void expiredEntriesAreDroppedSoTheMapDoesNotGrowWithFilesWritten() {
        AbsentXattrs a = new AbsentXattrs(SEC, 0);
        for (long i = 0; i < 10_000; i++) {
            a.note(i, CAP, i * 100_000L); // 10,000 files within one second
        }
        assertEquals(10_000, a.size());
        // Two seconds on, the next note sweeps: only what is still valid stays.
        a.note(1_000_000, CAP, 2 * SEC + 1);
        assertEquals(1, a.size());
        assertTrue(a.known(1_000_000, CAP, 2 * SEC + 2));
    }
}
