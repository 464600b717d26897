package io.coffer.server.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.core.CreateMode;
import io.coffer.core.FileHandle;
import io.coffer.core.FileSystemId;
import io.coffer.core.OpContext;
import io.coffer.core.ReadResult;
import io.coffer.core.SetAttributes;
import io.coffer.server.chunk.ChunkStore;
import io.coffer.server.chunk.MemoryChunkStore;
import io.coffer.server.chunk.SegmentChunkStore;
import io.coffer.server.meta.KeySpace;
import io.coffer.server.meta.MemoryMetadataStore;
import io.coffer.server.meta.RocksMetadataStore;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A write looks up only the chunks that can exist: none at or past the file's size. Appends
 * (every write of a sequential stream) read no chunk reference at all, and every other write
 * still merges with what is stored, checked against a model of the file after each step.
 */
class AppendPlanTest {
    static final int CS = 4096;

    @TempDir
    Path dir;
    InodeExtrasTest.CountingStore meta;
    StoreFileSystem fs;
    FileHandle file;
    byte[] model = new byte[0];
    final OpContext ctx = OpContext.root();
    final Random random = new Random(7);

    private void open(String engine) throws IOException {
        boolean rocks = engine.equals("rocks");
        meta = new InodeExtrasTest.CountingStore(
                rocks ? new RocksMetadataStore(dir.resolve("meta"), false) : new MemoryMetadataStore());
        ChunkStore chunks = rocks ? new SegmentChunkStore(dir.resolve("chunks"), 1 << 20) : new MemoryChunkStore();
        fs = new StoreFileSystem(meta, chunks, new FixedKeyCiphers(), Clock.systemUTC(), dir,
                new StoreFileSystem.Options(false, 0, 0, 0.5, 90_000));
        FileSystemRecord rec = fs.createFileSystem("t", rocks, null, CS, "test");
        FileHandle root = fs.mount(ctx, new FileSystemId(FileSystemId.parse(rec.id()).value()), "/").handle();
        file = fs.create(ctx, root, "f", 0644, CreateMode.EXCLUSIVE).handle();
    }

    @AfterEach
    void tearDown() throws IOException {
        if (fs != null) {
            fs.close();
        }
    }

    /** Writes random bytes at offset, into the file and the model; returns the chunk lookups it made. */
    private int write(long offset, int n) throws IOException {
        byte[] data = new byte[n];
        random.nextBytes(data);
        meta.reset();
        fs.write(ctx, file, offset, Unpooled.wrappedBuffer(data), false);
        int lookups = meta.scans(KeySpace.CHUNKS) + meta.gets(KeySpace.CHUNKS);
        int end = (int) offset + n;
        if (end > model.length) {
            model = Arrays.copyOf(model, end);
        }
        System.arraycopy(data, 0, model, (int) offset, n);
        assertContent();
        return lookups;
    }

    private void truncate(long size) throws IOException {
        fs.setattr(ctx, file, SetAttributes.size(size));
        model = Arrays.copyOf(model, (int) size);
        assertContent();
    }

    private void assertContent() throws IOException {
        assertEquals(model.length, fs.getattr(ctx, file).size());
        ReadResult r = fs.read(ctx, file, 0, model.length + CS);
        byte[] got = new byte[r.data().readableBytes()];
        r.data().readBytes(got);
        r.data().release();
        assertArrayEquals(model, got);
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "rocks"})
    void appendsPastTheLastChunkLookNothingUp(String engine) throws IOException {
        open(engine);
        assertEquals(0, write(0, 4 * CS), "first write of an empty file");
        assertEquals(0, write(4 * CS, 4 * CS), "aligned append");
        assertEquals(0, write(8 * CS, 100), "aligned append of a partial chunk");
        assertEquals(0, write(10 * CS, 3 * CS), "append past a hole");
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "rocks"})
    void writesOverStoredChunksStillMergeWithThem(String engine) throws IOException {
        open(engine);
        write(0, 4 * CS + 100);
        // Starts inside the last stored chunk and runs past it: that one chunk is read for the
        // plan and locked in the transaction; the three after it are not looked for.
        assertEquals(2, write(4 * CS + 50, 3 * CS), "unaligned append");
        assertTrue(write(CS + 7, 2 * CS) > 0, "overwrite inside the file");
        assertTrue(write(6 * CS, 4 * CS) > 0, "overwrite running past the end");
        write(20 * CS, 10);
        assertTrue(write(15 * CS, 7 * CS) > 0, "write into a hole and over the last chunk");
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "rocks"})
    void truncationsKeepNoChunkAWriteCouldMiss(String engine) throws IOException {
        open(engine);
        write(0, 8 * CS);
        truncate(2 * CS + 300);
        // Past the cut end: reads zeros between the cut and the write, nothing of the old bytes.
        assertEquals(0, write(5 * CS, CS), "append after a shrink");
        assertTrue(write(2 * CS + 100, 50) > 0, "write into the cut chunk");
        truncate(20 * CS);
        assertEquals(0, write(20 * CS, CS), "append after a grow");
        truncate(0);
        assertEquals(0, write(CS, 2 * CS), "append after truncating to zero");
    }
}
