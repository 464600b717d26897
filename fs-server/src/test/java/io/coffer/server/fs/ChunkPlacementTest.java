package io.coffer.server.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.core.CreateMode;
import io.coffer.core.Entry;
import io.coffer.core.FileHandle;
import io.coffer.core.FileSystemId;
import io.coffer.core.OpContext;
import io.coffer.core.ReadResult;
import io.coffer.core.SetAttributes;
import io.coffer.server.chunk.SegmentChunkStore;
import io.coffer.server.meta.RocksMetadataStore;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where chunks go (inline in metadata or in segment files) and how their space comes back. */
class ChunkPlacementTest {
    @TempDir
    Path dir;
    StoreFileSystem fs;
    SegmentChunkStore segments;
    FileHandle root;
    final OpContext ctx = OpContext.root();

    @BeforeEach
    void setUp() throws IOException {
        segments = new SegmentChunkStore(dir.resolve("chunks"), 1 << 20);
        fs = new StoreFileSystem(new RocksMetadataStore(dir.resolve("meta"), false), segments, new FixedKeyCiphers(),
                Clock.systemUTC(), dir, new StoreFileSystem.Options(false, 0, 0, 0.5, 90_000));
        FileSystemRecord r = fs.createFileSystem("t", true, null, 65536, "test");
        root = fs.mount(ctx, FileSystemId.parse(r.id()), "/").handle();
    }

    @AfterEach
    void tearDown() throws IOException {
        fs.close();
    }

    private byte[] write(String name, int size, long seed) throws IOException {
        Entry e = fs.create(ctx, root, name, 0644, CreateMode.UNCHECKED);
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        fs.write(ctx, e.handle(), 0, Unpooled.wrappedBuffer(data), false);
        return data;
    }

    private byte[] read(String name) throws IOException {
        Entry e = fs.lookup(ctx, root, name);
        ReadResult r = fs.read(ctx, e.handle(), 0, 1 << 20);
        byte[] out = new byte[r.data().readableBytes()];
        r.data().readBytes(out);
        r.data().release();
        return out;
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
        fs = new StoreFileSystem(new RocksMetadataStore(dir.resolve("meta"), false), segments, new FixedKeyCiphers2(),
                Clock.systemUTC(), dir, new StoreFileSystem.Options(false, 0, 0, 0.5, 90_000));
        root = fs.mount(ctx, FileSystemId.parse(fs.listFileSystems().get(0).id()), "/").handle();
        assertArrayEquals(keep, read("kept"), "live data survives compaction and a restart");
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
