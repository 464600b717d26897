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
