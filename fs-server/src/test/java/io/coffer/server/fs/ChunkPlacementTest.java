package io.coffer.server.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.core.CreateMode;
import io.coffer.core.Entry;
import io.coffer.core.FileSystemId;
import io.coffer.core.SetAttributes;
import io.coffer.core.status.IoException;
import io.coffer.server.chunk.SegmentChunkStore;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Where chunks go (inline in metadata or in segment files) and how their space comes back. */
class ChunkPlacementTest extends StoreOverSegmentsTestSupport {
    @BeforeEach
    void setUp() throws IOException {
        start(1 << 20);
    }

    private byte[] write(String name, int size, long seed) throws IOException {
        Entry e = fs.create(ctx, root, name, 0644, CreateMode.UNCHECKED);
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        fs.write(ctx, e.handle(), 0, Unpooled.wrappedBuffer(data), false);
        return data;
    }

    private byte[] read(String name) throws IOException {
        return read(fs.lookup(ctx, root, name).handle(), 0, 1 << 20);
    }

    @Test
    void smallFilesLiveInTheMetadataAndBigOnesInSegments() throws IOException {
        long before = segments.usedBytes();
        byte[] small = write("small", 3000, 1);
        assertEquals(before, segments.usedBytes(), "a 3000-byte file adds nothing to the segment files");
        assertArrayEquals(small, read("small"));
        byte[] big = write("big", 300_000, 2);
        assertTrue(segments.usedBytes() > before + 300_000);
        assertArrayEquals(big, read("big"));
        // Growing a small file past the inline limit moves its chunk to a segment.
        Entry e = fs.lookup(ctx, root, "small");
        byte[] more = new byte[StoreFileSystem.INLINE_MAX];
        new Random(3).nextBytes(more);
        fs.write(ctx, e.handle(), small.length, Unpooled.wrappedBuffer(more), false);
        byte[] back = read("small");
        assertEquals(small.length + more.length, back.length);
        assertArrayEquals(more, java.util.Arrays.copyOfRange(back, small.length, back.length));
        // Truncating a big file down to a few bytes brings its chunk back inline.
        Entry b = fs.lookup(ctx, root, "big");
        fs.setattr(ctx, b.handle(), SetAttributes.size(100));
        assertArrayEquals(java.util.Arrays.copyOf(big, 100), read("big"));
    }

    @Test
    void deletedAndOverwrittenDataIsReclaimedByCompaction() throws IOException {
        for (int round = 0; round < 6; round++) {
            write("rewritten", 900_000, round);
        }
        byte[] keep = write("kept", 700_000, 99);
        for (int i = 0; i < 5; i++) {
            write("gone" + i, 500_000, 100 + i);
        }
        for (int i = 0; i < 5; i++) {
            fs.remove(ctx, root, "gone" + i);
        }
        fs.awaitReclaims();
        long before = segments.usedBytes();
        long freed = fs.compact(0.5);
        assertTrue(freed > 0, "compaction freed nothing of " + before);
        assertTrue(segments.usedBytes() < before, segments.usedBytes() + " >= " + before);
        assertArrayEquals(keep, read("kept"), "live data survives compaction");
        assertEquals(900_000, read("rewritten").length);
        // And after a restart the moved references still hold.
        fs.close();
        segments = new SegmentChunkStore(dir.resolve("chunks"), 1 << 20);
        fs = openStore(dir, segments, new FixedKeyCiphers2());
        root = fs.mount(ctx, FileSystemId.parse(fs.listFileSystems().get(0).id()), "/").handle();
        assertArrayEquals(keep, read("kept"), "live data survives compaction and a restart");
    }

    private void writeAt(Entry e, byte[] model, int offset, int len, Random rnd) throws IOException {
        byte[] d = new byte[len];
        rnd.nextBytes(d);
        System.arraycopy(d, 0, model, offset, len);
        fs.write(ctx, e.handle(), offset, Unpooled.wrappedBuffer(d), false);
    }

    @Test
    void smallWritesInsideAChunkArePatchesThatReadBackMergedAndSurviveCompactionAndRestart() throws IOException {
        int size = 8 * 65536;
        byte[] model = new byte[size];
        Random rnd = new Random(7);
        Entry e = fs.create(ctx, root, "rand", 0644, CreateMode.EXCLUSIVE);
        writeAt(e, model, 0, size, rnd);
        long before = segments.usedBytes();
        // 4 KiB writes into existing chunks: each appends about 4 KiB, not a rewritten 64 KiB chunk.
        for (int i = 0; i < 8; i++) {
            writeAt(e, model, i * 65536 + 8192, 4096, rnd);
        }
        long grown = segments.usedBytes() - before;
        assertTrue(grown < 8 * (4096 + 200), "eight 4 KiB writes grew the segments by " + grown);
        assertArrayEquals(model, read("rand"));
        // Overlapping patches in one chunk: the newest bytes win, reads inside and across them agree.
        writeAt(e, model, 65536 + 10_000, 3000, rnd);
        writeAt(e, model, 65536 + 9000, 2000, rnd);
        assertArrayEquals(java.util.Arrays.copyOfRange(model, 65536 + 8000, 65536 + 14_000),
                read(e.handle(), 65536 + 8000, 6000));
        assertArrayEquals(java.util.Arrays.copyOfRange(model, 60_000, 140_000), read(e.handle(), 60_000, 80_000));
        // More patches than a chunk keeps: it is rewritten whole, and still reads right.
        for (int i = 0; i < 3 * ChunkRef.MAX_PATCHES; i++) {
            writeAt(e, model, 2 * 65536 + rnd.nextInt(65536 - 1000), 1000, rnd);
        }
        assertArrayEquals(model, read("rand"));
        // A patch past the end of a short last chunk leaves zeros in the gap, as a sparse file does.
        fs.setattr(ctx, e.handle(), SetAttributes.size(7 * 65536 + 1000));
        byte[] grownModel = java.util.Arrays.copyOf(java.util.Arrays.copyOf(model, 7 * 65536 + 1000), 7 * 65536 + 9000);
        writeAt(e, grownModel, 7 * 65536 + 5000, 4000, rnd);
        assertArrayEquals(grownModel, read("rand"));
        // Read alone, right after a read of part of a chunk full of random bytes: still zeros.
        read(e.handle(), 65536 + 100, 60_000);
        assertArrayEquals(new byte[4000], read(e.handle(), 7 * 65536 + 1000, 4000));
        // Truncating inside a patched chunk cuts the merged bytes.
        writeAt(e, grownModel, 3 * 65536 + 100, 4096, rnd);
        fs.setattr(ctx, e.handle(), SetAttributes.size(3 * 65536 + 2000));
        byte[] cut = java.util.Arrays.copyOf(grownModel, 3 * 65536 + 2000);
        assertArrayEquals(cut, read("rand"));
        // Compaction moves base and patch records alike; the references follow, across a restart.
        for (int i = 0; i < 3; i++) {
            writeAt(e, cut, i * 65536 + 30_000, 4096, rnd);
        }
        for (int round = 0; round < 4; round++) {
            write("churn", 900_000, round);
        }
        fs.remove(ctx, root, "churn");
        fs.awaitReclaims();
        assertTrue(fs.compact(1.0) > 0, "compaction freed nothing");
        assertArrayEquals(cut, read("rand"), "patched data survives compaction");
        fs.close();
        segments = new SegmentChunkStore(dir.resolve("chunks"), 1 << 20);
        fs = openStore(dir, segments, new FixedKeyCiphers2());
        root = fs.mount(ctx, FileSystemId.parse(fs.listFileSystems().get(0).id()), "/").handle();
        assertArrayEquals(cut, read("rand"), "patched data survives compaction and a restart");
        // Removing the file releases every record, patches included.
        long live = segments.segmentUsage().values().stream().mapToLong(u -> u[0]).sum();
        fs.remove(ctx, root, "rand");
        fs.awaitReclaims();
        long after = segments.segmentUsage().values().stream().mapToLong(u -> u[0]).sum();
        assertTrue(live - after >= cut.length, "removing released " + (live - after) + " of " + cut.length);
        assertEquals(0, after, "no live bytes left");
    }

    @Test
    void aSmallReadOfAPatchedChunkAppliesTheOverlappingPatchesAndFailsOnlyOnADamagedOne() throws IOException {
        byte[] model = new byte[2 * 65536];
        Random rnd = new Random(11);
        Entry e = fs.create(ctx, root, "patched", 0644, CreateMode.EXCLUSIVE);
        writeAt(e, model, 0, model.length, rnd);
        long[] patchAt = new long[4];
        int[] offsets = {0, 12_000, 30_000, 60_000};
        for (int i = 0; i < offsets.length; i++) {
            // Patches are small appends to the one segment: each starts where the segment ended.
            patchAt[i] = segments.usedBytes();
            writeAt(e, model, offsets[i], 4096, rnd);
        }
        writeAt(e, model, 65536 + 5000, 4096, rnd);
        // Small reads anywhere, one after another on this thread's buffers: each range is exact,
        // whether it covers a patch, several, none, the chunk's end, or the next chunk too.
        for (int i = 0; i < 400; i++) {
            int off = rnd.nextInt(model.length - 1);
            int len = 1 + rnd.nextInt(Math.min(model.length - off, i % 3 == 0 ? 70_000 : 6000));
            assertArrayEquals(Arrays.copyOfRange(model, off, off + len), read(e.handle(), off, len),
                    "read of " + len + " at " + off);
        }
        // Damage the third patch's sealed bytes on disk.
        List<Path> segs;
        try (Stream<Path> files = Files.list(dir.resolve("chunks"))) {
            segs = files.filter(f -> f.getFileName().toString().endsWith(".log")).toList();
        }
        assertEquals(1, segs.size(), "one segment: " + segs);
        try (FileChannel ch = FileChannel.open(segs.get(0), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long at = patchAt[2] + SegmentChunkStore.HEADER + 100;
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, at);
            ch.write(ByteBuffer.wrap(new byte[] {(byte) (b.get(0) ^ 0x40)}), at);
        }
        // Reads away from it still return the right bytes; any read over it is an I/O error.
        assertArrayEquals(Arrays.copyOfRange(model, 0, 4096), read(e.handle(), 0, 4096));
        assertArrayEquals(Arrays.copyOfRange(model, 12_000, 20_000), read(e.handle(), 12_000, 8000));
        assertArrayEquals(Arrays.copyOfRange(model, 34_126, 65536 + 9000), read(e.handle(), 34_126, 65536 + 9000 - 34_126));
        assertThrows(IoException.class, () -> read(e.handle(), 30_000 + 4095, 1));
        assertThrows(IoException.class, () -> read(e.handle(), 29_000, 1001));
        assertThrows(IoException.class, () -> read(e.handle(), 0, model.length));
    }

    @Test
    void removingAOneChunkFileReleasesItsChunkAtOnceAndABiggerOneThroughTheReclaimer() throws IOException {
        long live0 = segments.segmentUsage().values().stream().mapToLong(u -> u[0]).sum();
        write("one", 30_000, 5);
        write("many", 200_000, 6);
        long live1 = segments.segmentUsage().values().stream().mapToLong(u -> u[0]).sum();
        fs.remove(ctx, root, "one");
        long live2 = segments.segmentUsage().values().stream().mapToLong(u -> u[0]).sum();
        assertTrue(live1 - live2 >= 30_000, "the one-chunk file's record was released with its removal");
        fs.remove(ctx, root, "many");
        fs.awaitReclaims();
        long live3 = segments.segmentUsage().values().stream().mapToLong(u -> u[0]).sum();
        assertEquals(live0, live3, "every record of both files released");
    }

    /** Same keys as before the restart: FixedKeyCiphers keeps keys in the records. */
    static final class FixedKeyCiphers2 extends Object implements CipherSource {
        private final FixedKeyCiphers inner = new FixedKeyCiphers();

        @Override
        public io.coffer.server.crypto.FsCipher cipher(FileSystemRecord r) {
            return inner.cipher(r);
        }

        @Override
        public NewKey newDataKey(String fsId, String kmsKey, String caller) throws IOException {
            return inner.newDataKey(fsId, kmsKey, caller);
        }

        @Override
        public void forget(String fsId) {
        }
    }
}
