package io.coffer.client.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import org.junit.jupiter.api.Test;

/** Which requests a FUSE thread handles while staying one of the loop's readers, and the node a LINK links. */
class FuseLoopTest {
    private static Pointer request(int opcode) {
        Pointer buf = Memory.allocateDirect(Runtime.getSystemRuntime(), 64);
        buf.putInt(0, 64);
        buf.putInt(4, opcode);
        buf.putLong(8, 77);
        return buf;
    }

    @Test
    void forgetsAreRecognisedByTheHeadersOpcode() {
        assertTrue(FuseLoop.isForget(request(FuseLoop.FUSE_FORGET), 64));
        assertTrue(FuseLoop.isForget(request(FuseLoop.FUSE_BATCH_FORGET), 64));
    }

    @Test
    void requestsThatGetAReplyAreNotForgets() {
        // LOOKUP, GETATTR, UNLINK, READ, WRITE, FLUSH, RELEASE, CREATE
        for (int op : new int[] {1, 3, 10, 15, 16, 25, 18, 35}) {
            assertFalse(FuseLoop.isForget(request(op), 64), "opcode " + op);
        }
    }

    @Test
    void aLinkNamesTheNodeItLinks() {
        Pointer link = request(FuseLoop.FUSE_LINK);
        link.putLong(40, 4242);
        assertEquals(4242, FuseLoop.linkedNode(link, 50));
        assertEquals(0, FuseLoop.linkedNode(link, 44), "too short for struct fuse_link_in");
        Pointer lookup = request(1);
        lookup.putLong(40, 4242);
        assertEquals(0, FuseLoop.linkedNode(lookup, 50), "not a LINK");
    }

    @Test
    void aTooShortReadIsNotAForget() {
        assertFalse(FuseLoop.isForget(request(FuseLoop.FUSE_FORGET), 6));
    }
}
