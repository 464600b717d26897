package io.coffer.server.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.core.FileType;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class InodeRecordTest {

    private static InodeRecord sample() {
        InodeRecord r = new InodeRecord();
        r.type = FileType.SYMLINK;
        r.mode = 0777;
        r.uid = 1000;
        r.gid = 100;
        r.nlink = 1;
        r.size = 11;
        r.rdev = 0;
        r.atime = 1;
        r.mtime = 2;
        r.ctime = 3;
        r.btime = 4;
        r.change = 5;
        r.generation = 6;
        r.parent = 7;
        r.nextCookie = 8;
        r.target = "caf\u00e9/target";
        return r;
    }

    @Test
    void roundTripsEveryFieldAndTheCapabilityFlag() throws IOException {
        for (boolean cap : new boolean[] {false, true}) {
            InodeRecord r = sample();
            r.mayHaveCapability = cap;
            byte[] b = r.encode();
            assertEquals(InodeRecord.FORMAT_VERSION, b[0]);
            InodeRecord d = InodeRecord.decode(b);
            assertEquals(Arrays.toString(fields(r)), Arrays.toString(fields(d)));
            assertEquals(cap, d.mayHaveCapability);
        }
    }

    @Test
    void theStoredCountFollowsTheFlagsAndAnOlderRecordHasNone() throws IOException {
        InodeRecord r = sample();
        r.type = FileType.REGULAR;
        r.target = null;
        r.size = 10L << 30;
        r.stored = 12_345;
        byte[] b = r.encode();
        InodeRecord d = InodeRecord.decode(b);
        assertEquals(12_345, d.stored);
        assertEquals(16_384, d.attributes(1, 0, 1 << 20).usedBytes());
        // What a server from before the count wrote: the same record without the bit and the count.
        byte[] older = Arrays.copyOf(b, b.length - 8);
        older[older.length - 1] &= ~8;
        InodeRecord o = InodeRecord.decode(older);
        assertEquals(-1, o.stored);
        assertEquals(10L << 30, o.attributes(1, 0, 1 << 20).usedBytes(), "unknown: reported as the size");
    }

    @Test
    void aVersionOneRecordReadsAsOneThatMayHaveACapability() throws IOException {
        InodeRecord r = sample();
        byte[] v2 = r.encode();
        // Version 1 is version 2 without the trailing flags byte.
        byte[] v1 = Arrays.copyOf(v2, v2.length - 1);
        v1[0] = 1;
        InodeRecord d = InodeRecord.decode(v1);
        assertTrue(d.mayHaveCapability, "a record from before the flag must still be checked for capabilities");
        assertEquals(Arrays.toString(fields(r)), Arrays.toString(fields(d)));
        // Written back, it is version 2 and keeps what it was told.
        d.mayHaveCapability = false;
        assertFalse(InodeRecord.decode(d.encode()).mayHaveCapability);
    }

    @Test
    void roundTripsTheExtrasFlagWithTheTrackedBitAlwaysSet() throws IOException {
        for (boolean cap : new boolean[] {false, true}) {
            for (boolean extras : new boolean[] {false, true}) {
                InodeRecord r = sample();
                r.mayHaveCapability = cap;
                r.mayHaveExtras = extras;
                byte[] b = r.encode();
                assertEquals(2, b[0], "the new bits need no new format");
                int flags = b[b.length - 1] & 0xff;
                assertEquals((cap ? 1 : 0) | 2 | (extras ? 4 : 0), flags);
                InodeRecord d = InodeRecord.decode(b);
                assertEquals(Arrays.toString(fields(r)), Arrays.toString(fields(d)));
                assertEquals(cap, d.mayHaveCapability);
                assertEquals(extras, d.mayHaveExtras);
            }
        }
        assertFalse(new InodeRecord().mayHaveExtras, "a new inode starts with no extras");
    }

    @Test
    void aRecordWithoutTheTrackedBitMayHaveExtras() throws IOException {
        byte[] v2 = sample().encode();
        byte[] v1 = Arrays.copyOf(v2, v2.length - 1);
        v1[0] = 1;
        assertTrue(InodeRecord.decode(v1).mayHaveExtras, "format 1");
        // Format 2 as a server from before the bits wrote it: bit 0 at most. Bit 2 alone (which
        // no server writes) is not trusted either.
        for (int flags : new int[] {0, 1, 4, 5}) {
            byte[] b = v2.clone();
            b[b.length - 1] = (byte) flags;
            InodeRecord d = InodeRecord.decode(b);
            assertTrue(d.mayHaveExtras, "flags " + flags);
            assertEquals((flags & 1) != 0, d.mayHaveCapability, "flags " + flags);
            // Written back by this server, it says "tracked, may have" and so still gets the scans.
            assertEquals((flags & 1) | 2 | 4, d.encode()[b.length - 1] & 0xff);
        }
    }

    @Test
    void olderServersReadTheNewBitsAsTheyDidAndDropThemOnWriteBack() throws IOException {
        for (boolean cap : new boolean[] {false, true}) {
            InodeRecord r = sample();
            r.mayHaveCapability = cap;
            r.mayHaveExtras = false;
            byte[] b = r.encode();
            // What a format-2 server from before these bits does with the bytes: reads bit 0 of
            // the same flags byte (the only byte it masks), and writes back that bit alone.
            assertEquals(cap, oldReaderCapability(b));
            byte[] rewritten = b.clone();
            rewritten[b.length - 1] = (byte) (oldReaderCapability(b) ? 1 : 0);
            InodeRecord d = InodeRecord.decode(rewritten);
            assertEquals(cap, d.mayHaveCapability);
            assertTrue(d.mayHaveExtras, "an older server may have added xattrs the bits no longer show");
            assertEquals(Arrays.toString(fields(r)), Arrays.toString(fields(d)));
        }
    }

    /** The flag reading of the format-2 decoder before bits 1 and 2, over the same layout. */
    private static boolean oldReaderCapability(byte[] b) throws IOException {
        java.io.DataInputStream in = new java.io.DataInputStream(new java.io.ByteArrayInputStream(b));
        int v = in.readUnsignedByte();
        in.skipNBytes(1 + 4 * 4 + 8 * 7 + 4 + 8 + 8);
        in.skipNBytes(in.readUnsignedShort());
        boolean cap = v == 1 || (in.readUnsignedByte() & 1) != 0;
        assertEquals(0, in.available(), "no bytes after the flags byte");
        return cap;
    }

    @Test
    void refusesAnUnknownVersionAndATruncatedRecord() {
        byte[] b = sample().encode();
        byte[] v3 = b.clone();
        v3[0] = 3;
        IOException e = assertThrows(IOException.class, () -> InodeRecord.decode(v3));
        assertTrue(e.getMessage().contains("version 3"), e.getMessage());
        assertThrows(IOException.class, () -> InodeRecord.decode(Arrays.copyOf(b, b.length - 1)));
    }

    private static Object[] fields(InodeRecord r) {
        return new Object[] {r.type, r.mode, r.uid, r.gid, r.nlink, r.size, r.rdev, r.atime, r.mtime, r.ctime,
            r.btime, r.change, r.generation, r.parent, r.nextCookie, r.target};
    }
}
