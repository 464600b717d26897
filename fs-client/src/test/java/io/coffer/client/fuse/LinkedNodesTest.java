package io.coffer.client.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Which kernel nodes are dropped when a file's link count changes, learnt from libfuse's entry replies. */
class LinkedNodesTest {
    private static final Runtime RT = Runtime.getSystemRuntime();
    private static final int S_IFREG = 0100000;
    private static final int S_IFDIR = 0040000;

    private final LinkedNodes links = new LinkedNodes();
    private final List<Long> dropped = new ArrayList<>();

    @BeforeEach
    void watchDrops() {
        links.invalidateWith(dropped::add);
    }

    /** An iovec array: struct fuse_out_header and a struct fuse_entry_out for {@code node}. */
    private static Pointer entryReply(int error, long node, long inode, int mode, int nlink) {
        Pointer header = Memory.allocateDirect(RT, 16);
        header.putInt(0, 16 + 128);
        header.putInt(4, error);
        header.putLong(8, 9);
        Pointer entry = Memory.allocateDirect(RT, 128);
        entry.putLong(0, node);
        entry.putLong(LinkedNodes.ENTRY_ATTR, inode);
        entry.putInt(LinkedNodes.ENTRY_ATTR + LinkedNodes.ATTR_MODE, mode | 0644);
        entry.putInt(LinkedNodes.ENTRY_ATTR + LinkedNodes.ATTR_NLINK, nlink);
        Pointer iov = Memory.allocateDirect(RT, 32);
        iov.putPointer(0, header);
        iov.putLong(8, 16);
        iov.putPointer(16, error == 0 ? entry : null);
        iov.putLong(24, error == 0 ? 128 : 0);
        return iov;
    }

    private void lookedUp(long node, long inode, int nlink) {
        links.replied(entryReply(0, node, inode, S_IFREG, nlink), 2);
    }

    @Test
    void anUnlinkDropsTheOtherNamesOfTheFile() {
        lookedUp(11, 500, 3);
        lookedUp(12, 500, 3);
        lookedUp(13, 600, 2);
        links.changed(500);
        links.answered(0);
        assertEquals(List.of(11L, 12L), dropped);
    }

    @Test
    void filesWithOneNameAndDirectoriesAreNotTracked() {
        lookedUp(11, 500, 1);
        links.replied(entryReply(0, 12, 501, S_IFDIR, 5), 2);
        links.replied(entryReply(2, 0, 0, 0, 0), 2);
        lookedUp(0, 502, 2); // a negative entry
        assertEquals(0, links.size());
        links.changed(500);
        links.changed(501);
        assertTrue(dropped.isEmpty());
    }

    @Test
    void aLinkAddsTheNodeItLinkedFrom() {
        // a has one name when looked up, so it is not tracked; the LINK's reply (the new name) is.
        lookedUp(21, 700, 1);
        links.changed(700);
        lookedUp(22, 700, 2);
        links.answered(21);
        assertEquals(2, links.size());
        // A second link drops both.
        links.changed(700);
        lookedUp(23, 700, 3);
        links.answered(21);
        assertEquals(List.of(22L, 21L), dropped);
    }

    @Test
    void aForgottenNodeIsNotDropped() {
        lookedUp(31, 800, 2);
        lookedUp(32, 800, 2);
        lookedUp(33, 800, 2);
        links.forgets(forget(31), 48);
        Pointer batch = Memory.allocateDirect(RT, 80);
        batch.putInt(0, 80);
        batch.putInt(4, FuseLoop.FUSE_BATCH_FORGET);
        batch.putInt(40, 2);
        batch.putLong(48, 33);
        batch.putLong(56, 1);
        batch.putLong(64, 999);
        batch.putLong(72, 1);
        links.forgets(batch, 80);
        assertEquals(1, links.size());
        links.changed(800);
        assertEquals(List.of(32L), dropped);
        links.forgets(forget(32), 48);
        assertEquals(0, links.size());
    }

    private static Pointer forget(long node) {
        Pointer f = Memory.allocateDirect(RT, 48);
        f.putInt(0, 48);
        f.putInt(4, FuseLoop.FUSE_FORGET);
        f.putLong(16, node);
        return f;
    }

    @Test
    void aNodeWhoseNameNowNamesAnotherFileMoves() {
        lookedUp(41, 900, 2);
        lookedUp(42, 900, 2);
        // Another client replaced node 42's name with a file of one name.
        lookedUp(42, 901, 1);
        links.changed(900);
        assertEquals(List.of(41L), dropped);
        assertEquals(1, links.size());
    }

    @Test
    void theNodesFollowedAreBounded() {
        for (int i = 1; i <= LinkedNodes.MAX_NODES + 100; i++) {
            lookedUp(i, 10_000 + i / 2, 2);
        }
        assertEquals(LinkedNodes.MAX_NODES, links.size());
        links.forgets(forget(1), 48);
        lookedUp(LinkedNodes.MAX_NODES + 200, 77, 2);
        assertEquals(LinkedNodes.MAX_NODES, links.size());
        links.changed(77);
        assertEquals(List.of((long) LinkedNodes.MAX_NODES + 200), dropped, "room again after a FORGET");
    }

    @Test
    void onlyTheRequestsThatChangeLinkCountsAreFollowed() {
        assertTrue(LinkedNodes.changesLinks(RawRequest.FUSE_UNLINK));
        assertTrue(LinkedNodes.changesLinks(RawRequest.FUSE_RENAME));
        assertTrue(LinkedNodes.changesLinks(RawRequest.FUSE_LINK));
        assertFalse(LinkedNodes.changesLinks(RawRequest.FUSE_LOOKUP));
        assertTrue(LinkedNodes.answersWithEntry(RawRequest.FUSE_CREATE));
        assertFalse(LinkedNodes.answersWithEntry(RawRequest.FUSE_MKDIR));
        assertFalse(LinkedNodes.answersWithEntry(RawRequest.FUSE_READ));
    }
}
