package io.coffer.server.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.core.CreateMode;
import io.coffer.core.Entry;
import io.coffer.core.FileHandle;
import io.coffer.server.chunk.SegmentChunkStore;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A READ of many chunks of a file written in sequence reads their records in one run. */
class RunReadTest extends StoreOverSegmentsTestSupport {
    @BeforeEach
    void setUp() throws IOException {
        start(256L << 20);
    }

    private FileHandle stream(String name, byte[] data) throws IOException {
        Entry e = fs.create(ctx, root, name, 0644, CreateMode.UNCHECKED);
        for (int off = 0; off < data.length; off += 1 << 20) {
            int n = Math.min(1 << 20, data.length - off);
            fs.write(ctx, e.handle(), off, Unpooled.wrappedBuffer(data, off, n), false);
        }
        return e.handle();
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void readsOfManyChunksGoInOneRunAndReturnTheSameBytes() throws IOException {
        byte[] data = random((3 << 20) + 12_345, 1);
        FileHandle h = stream("big", data);
        long runs = segments.runsRead();
        assertArrayEquals(Arrays.copyOfRange(data, 0, 1 << 20), read(h, 0, 1 << 20), "aligned 1 MiB");
        assertEquals(runs + 1, segments.runsRead());
        assertArrayEquals(Arrays.copyOfRange(data, 100_001, 100_001 + (1 << 20)), read(h, 100_001, 1 << 20),
                "unaligned: parts of the first and last chunks");
        assertArrayEquals(Arrays.copyOfRange(data, (2 << 20) + 100_000, data.length), read(h, (2 << 20) + 100_000, 1 << 20),
                "to the end of the file, whose last chunk is short");
        assertEquals(runs + 3, segments.runsRead());
        long before = segments.runsRead();
        assertArrayEquals(Arrays.copyOfRange(data, 70_000, 80_000), read(h, 70_000, 10_000), "a small read");
        assertEquals(before, segments.runsRead(), "reads of a chunk or two read their records alone");
    }

    @Test
    void onAnEventLoopTheRecordsAreReadAlone() throws IOException {
        byte[] data = random(1 << 20, 5);
        FileHandle h = stream("on-event-loop", data);
        long runs = segments.runsRead();
        byte[] got = StoreFileSystem.withoutWaiting(() -> read(h, 0, 1 << 20));
        assertArrayEquals(data, got);
        assertEquals(runs, segments.runsRead(), "no direct read (it may write dirty pages back first)");
    }

    @Test
    void aPatchedChunkInTheRangeIsReadAloneWithItsPatch() throws IOException {
        byte[] data = random(1 << 20, 2);
        FileHandle h = stream("patched", data);
        byte[] patch = random(4096, 3);
        fs.write(ctx, h, 5 * 65536 + 100, Unpooled.wrappedBuffer(patch), false);
        System.arraycopy(patch, 0, data, 5 * 65536 + 100, patch.length);
        long runs = segments.runsRead();
        assertArrayEquals(data, read(h, 0, 1 << 20));
        assertEquals(runs, segments.runsRead(), "a range with a patched chunk is not one run");
        // Rewritten whole, the file is one run again (its chunks follow one another in a new place).
        h = stream("rewritten", data);
        assertArrayEquals(data, read(h, 0, 1 << 20));
        assertEquals(runs + 1, segments.runsRead());
    }

    @Test
    void aTamperedRecordInARunFailsTheRead() throws IOException {
        byte[] data = random(1 << 20, 4);
        FileHandle h = stream("victim", data);
        fs.sync();
        Path seg;
        try (var s = Files.list(dir.resolve("chunks"))) {
            seg = s.filter(p -> p.getFileName().toString().startsWith("seg-")).sorted().reduce((a, b) -> b).orElseThrow();
        }
        try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            // Inside the payload of the fourth record: the segment holds this file's 16 records of
            // equal length, one after another.
            long record = ch.size() / 16;
            long at = 3 * record + SegmentChunkStore.HEADER + 5000;
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 0x40)).rewind();
            ch.write(b, at);
        }
        long runs = segments.runsRead();
        IOException e = assertThrows(IOException.class, () -> read(h, 0, 1 << 20));
        assertTrue(e.getMessage().contains("failed authentication"), e.getMessage());
        assertEquals(runs + 1, segments.runsRead(), "the run was read, and its record checked");
    }
}
