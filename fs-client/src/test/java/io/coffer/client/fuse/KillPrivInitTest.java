package io.coffer.client.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import org.junit.jupiter.api.Test;

class KillPrivInitTest {
    static final Runtime RT = Runtime.getSystemRuntime();
    static final int FUSE_ASYNC_READ = 1;
    static final int FUSE_BIG_WRITES = 1 << 5;

    /** An iovec array of a reply header (len, error, unique) and a 64-byte struct fuse_init_out. */
    static Pointer reply(long unique, int error, int flags) {
        Pointer header = Memory.allocateDirect(RT, 16);
        header.putInt(0, 16 + 64);
        header.putInt(4, error);
        header.putLong(8, unique);
        Pointer out = Memory.allocateDirect(RT, 64);
        out.putInt(0, 7);
        out.putInt(4, 19);
        out.putInt(8, 1 << 20);
        out.putInt(12, flags);
        Pointer iov = Memory.allocateDirect(RT, 32);
        iov.putPointer(0, header);
        iov.putLong(8, 16);
        iov.putPointer(16, out);
        iov.putLong(24, 64);
        return iov;
    }

    static int flagsOf(Pointer iov) {
        return iov.getPointer(16).getInt(12);
    }

    @Test
    void addsTheFlagToTheInitReplyAndKeepsLibfusesOwn() {
        Pointer iov = reply(42, 0, FUSE_ASYNC_READ | FUSE_BIG_WRITES);
        assertTrue(KillPrivInit.addFlag(iov, 42));
        assertEquals(FUSE_ASYNC_READ | FUSE_BIG_WRITES | KillPrivInit.FUSE_HANDLE_KILLPRIV_V2, flagsOf(iov));
    }

    @Test
    void leavesOtherRepliesAlone() {
        Pointer other = reply(43, 0, FUSE_ASYNC_READ);
        assertFalse(KillPrivInit.addFlag(other, 42));
        assertEquals(FUSE_ASYNC_READ, flagsOf(other));
        // libfuse refusing the INIT (protocol error) sends an error reply: nothing to add to.
        Pointer refused = reply(42, -71, FUSE_ASYNC_READ);
        assertFalse(KillPrivInit.addFlag(refused, 42));
        assertEquals(FUSE_ASYNC_READ, flagsOf(refused));
    }

    /** A struct fuse_in_header followed by fuse_init_in (major, minor, max_readahead, flags). */
    static Pointer request(int opcode, int kernelFlags) {
        Pointer buf = Memory.allocateDirect(RT, 56);
        buf.putInt(0, 56);
        buf.putInt(4, opcode);
        buf.putLong(8, 7);
        buf.putInt(40, 7);
        buf.putInt(44, 45);
        buf.putInt(48, 1 << 17);
        buf.putInt(52, kernelFlags);
        return buf;
    }

    @Test
    void takesOnlyAnInitWhoseKernelOffersTheFlag() {
        KillPrivInit on = new KillPrivInit(true);
        assertTrue(on.wants(request(KillPrivInit.FUSE_INIT, KillPrivInit.FUSE_HANDLE_KILLPRIV_V2 | 1), 56));
        assertFalse(on.wants(request(KillPrivInit.FUSE_INIT, 1), 56), "an older kernel does not know the flag");
        assertFalse(on.wants(request(16 /* WRITE */, KillPrivInit.FUSE_HANDLE_KILLPRIV_V2), 56));
        assertFalse(on.wants(request(KillPrivInit.FUSE_INIT, KillPrivInit.FUSE_HANDLE_KILLPRIV_V2), 40), "truncated");
        KillPrivInit off = new KillPrivInit(false);
        assertFalse(off.wants(request(KillPrivInit.FUSE_INIT, KillPrivInit.FUSE_HANDLE_KILLPRIV_V2), 56));
    }

    @Test
    void suidMountsAreRecognisedLastOptionWinning() {
        assertFalse(FuseLoop.suidMount(List.of("-o", "fsname=x,big_writes")));
        assertTrue(FuseLoop.suidMount(List.of("-o", "fsname=x,suid")));
        assertFalse(FuseLoop.suidMount(List.of("-o", "suid,nosuid")));
        assertTrue(FuseLoop.suidMount(List.of("-o", "nosuid", "-o", "suid")));
    }

    @Test
    void writesByUnprivilegedCallersDropTheBitsLinuxDrops() {
        assertTrue(CofferFuse.dropsPrivileges(04755));
        assertTrue(CofferFuse.dropsPrivileges(02775), "set-group-ID with group execute");
        assertFalse(CofferFuse.dropsPrivileges(02765), "set-group-ID without group execute marks mandatory locking");
        assertFalse(CofferFuse.dropsPrivileges(0777));
    }
}
