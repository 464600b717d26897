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
        Pointer link = request(RawRequest.FUSE_LINK);
        link.putLong(40, 4242);
        assertEquals(4242, FuseLoop.linkedNode(link, 50));
        assertEquals(0, FuseLoop.linkedNode(link, 44), "too short for struct fuse_link_in");
        Pointer lookup = request(1);
        lookup.putLong(40, 4242);
        assertEquals(0, FuseLoop.linkedNode(lookup, 50), "not a LINK");
    }

    /** A request of {@code opcode} with {@code struct} bytes of arguments, then the names, each NUL-terminated. */
    private static Pointer named(int opcode, int struct, byte[]... names) {
        int len = 40 + struct;
        for (byte[] n : names) {
            len += n.length + 1;
        }
        Pointer buf = Memory.allocateDirect(Runtime.getSystemRuntime(), len);
        buf.putInt(0, len);
        buf.putInt(4, opcode);
        int at = 40 + struct;
        for (byte[] n : names) {
            buf.put(at, n, 0, n.length);
            buf.putByte(at + n.length, (byte) 0);
            at += n.length + 1;
        }
        return buf;
    }

    private static int len(Pointer p) {
        return p.getInt(0);
    }

    @Test
    void namesThatAreNotUtf8AreRefused() {
        byte[] bad = {'b', 'a', 'd', (byte) 0xff};
        byte[] good = "é✓".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] ascii = {'o', 'k'};
        Pointer p;
        p = named(RawRequest.FUSE_CREATE, 16, bad);
        assertEquals(84, FuseLoop.badName(p, len(p)), "CREATE: EILSEQ");
        p = named(RawRequest.FUSE_LOOKUP, 0, bad);
        assertEquals(2, FuseLoop.badName(p, len(p)), "LOOKUP: ENOENT");
        p = named(RawRequest.FUSE_MKDIR, 8, bad);
        assertEquals(84, FuseLoop.badName(p, len(p)));
        p = named(RawRequest.FUSE_MKNOD, 16, bad);
        assertEquals(84, FuseLoop.badName(p, len(p)));
        p = named(RawRequest.FUSE_LINK, 8, bad);
        assertEquals(84, FuseLoop.badName(p, len(p)));
        p = named(RawRequest.FUSE_SYMLINK, 0, ascii, bad);
        assertEquals(84, FuseLoop.badName(p, len(p)), "a symlink's target too");
        p = named(RawRequest.FUSE_RENAME, 8, ascii, bad);
        assertEquals(84, FuseLoop.badName(p, len(p)), "RENAME's new name");
        p = named(RawRequest.FUSE_CREATE, 16, good);
        assertEquals(0, FuseLoop.badName(p, len(p)), "UTF-8 beyond ASCII is fine");
        p = named(RawRequest.FUSE_RENAME, 8, good, ascii);
        assertEquals(0, FuseLoop.badName(p, len(p)));
        // An overlong encoding of '/' and an encoded surrogate are not UTF-8 either.
        p = named(RawRequest.FUSE_CREATE, 16, new byte[] {(byte) 0xc0, (byte) 0xaf});
        assertEquals(84, FuseLoop.badName(p, len(p)));
        p = named(RawRequest.FUSE_CREATE, 16, new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80});
        assertEquals(84, FuseLoop.badName(p, len(p)));
        p = named(RawRequest.FUSE_CREATE, 16, bad);
        assertEquals(0, FuseLoop.badName(p, len(p) - 1), "no NUL in what was read: left to libfuse");
        p = named(10, 0, bad);
        assertEquals(0, FuseLoop.badName(p, len(p)), "a request that makes no name");
    }

    @Test
    void aTooShortReadIsNotAForget() {
        assertFalse(FuseLoop.isForget(request(FuseLoop.FUSE_FORGET), 6));
    }
}
