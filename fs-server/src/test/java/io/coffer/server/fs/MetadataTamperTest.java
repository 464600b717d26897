package io.coffer.server.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.coffer.core.CreateMode;
import io.coffer.core.Entry;
import io.coffer.core.FileHandle;
import io.coffer.core.FileSystemId;
import io.coffer.core.OpContext;
import io.coffer.core.ReadResult;
import io.coffer.core.status.IoException;
import io.coffer.server.chunk.MemoryChunkStore;
import io.coffer.server.meta.KeySpace;
import io.coffer.server.meta.Keys;
import io.coffer.server.meta.MemoryMetadataStore;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Someone who can edit the metadata store (but has no key) moves directory entries between names
 * or chunk references between chunks: reads fail with EIO instead of showing another file's data.
 */
class MetadataTamperTest {
    @TempDir
    Path dir;
    MemoryMetadataStore meta;
    StoreFileSystem fs;
    FileHandle root;
    int fsId;
    final OpContext ctx = OpContext.root();

    @BeforeEach
    void setUp() throws IOException {
        meta = new MemoryMetadataStore();
        fs = new StoreFileSystem(meta, new MemoryChunkStore(), new FixedKeyCiphers(), Clock.systemUTC(), dir,
                new StoreFileSystem.Options(false, 0, 0, 0.5, 90_000));
        FileSystemRecord r = fs.createFileSystem("t", true, null, 4096, "test");
        fsId = FileSystemId.parse(r.id()).value();
        root = fs.mount(ctx, new FileSystemId(fsId), "/").handle();
    }

    @AfterEach
    void tearDown() throws IOException {
        fs.close();
    }

    private List<byte[][]> rows(KeySpace space, byte[] prefix) throws IOException {
        List<byte[][]> out = new ArrayList<>();
        meta.read(r -> {
            r.scan(space, prefix, null, (k, v) -> {
                out.add(new byte[][] {k, v});
                return true;
            });
            return null;
        });
        return out;
    }

    @Test
    void swappedDirectoryEntriesFailToOpen() throws IOException {
        fs.create(ctx, root, "public.txt", 0644, CreateMode.EXCLUSIVE);
        fs.create(ctx, root, "secret.txt", 0600, CreateMode.EXCLUSIVE);
        List<byte[][]> entries = rows(KeySpace.DIRENTS, Keys.fsIno(fsId, StoreFileSystem.ROOT_INODE));
        byte[][] a = entries.get(0);
        byte[][] b = entries.get(1);
        meta.write(t -> {
            t.put(KeySpace.DIRENTS, a[0], b[1]);
            t.put(KeySpace.DIRENTS, b[0], a[1]);
            return null;
        });
        assertThrows(IoException.class, () -> fs.lookup(ctx, root, "public.txt"));
        assertThrows(IoException.class, () -> fs.lookup(ctx, root, "secret.txt"));
        assertThrows(IoException.class, () -> fs.readdir(ctx, root, 0, 100));
    }

    @Test
    void movedChunkReferencesFailToOpen() throws IOException {
        Entry e = fs.create(ctx, root, "f", 0644, CreateMode.EXCLUSIVE);
        byte[] data = new byte[3 * 4096];
        new Random(1).nextBytes(data);
        fs.write(ctx, e.handle(), 0, Unpooled.wrappedBuffer(data), false);
        ReadResult ok = fs.read(ctx, e.handle(), 0, data.length);
        byte[] back = new byte[data.length];
        ok.data().readBytes(back);
        ok.data().release();
        assertArrayEquals(data, back);
        List<byte[][]> refs = rows(KeySpace.CHUNKS, Keys.fsIno(fsId, e.handle().inode()));
        // Chunk 2's reference put under index 1: its sealed part is bound to index 2.
        meta.write(t -> {
            t.put(KeySpace.CHUNKS, refs.get(1)[0], refs.get(2)[1]);
            return null;
        });
        assertThrows(IoException.class, () -> fs.read(ctx, e.handle(), 4096, 4096));
    }

    @Test
    void patchedChunkReferencesAreBoundToTheirChunkAndTheirPatchLocators() throws IOException {
        Entry e = fs.create(ctx, root, "p", 0644, CreateMode.EXCLUSIVE);
        byte[] data = new byte[3 * 4096];
        new Random(2).nextBytes(data);
        fs.write(ctx, e.handle(), 0, Unpooled.wrappedBuffer(data), false);
        for (int c = 0; c < 3; c++) {
            fs.write(ctx, e.handle(), c * 4096 + 1000, Unpooled.wrappedBuffer(new byte[1000]), false);
        }
        List<byte[][]> refs = rows(KeySpace.CHUNKS, Keys.fsIno(fsId, e.handle().inode()));
        assertEquals(ChunkRef.FORMAT_PATCHED, refs.get(1)[1][0], "a small write into a stored chunk is a patch");
        // A patched reference put under another index: bound to index 2.
        meta.write(t -> {
            t.put(KeySpace.CHUNKS, refs.get(1)[0], refs.get(2)[1]);
            return null;
        });
        assertThrows(IoException.class, () -> fs.read(ctx, e.handle(), 4096, 4096));
        // The clear locators of chunk 0 swapped (base for patch): the sealed part no longer opens.
        byte[] v = refs.get(0)[1].clone();
        List<byte[]> locs = ChunkRef.locatorsOf(v);
        int a = 4;
        int b = a + locs.get(0).length + 2;
        byte[] swapped = v.clone();
        System.arraycopy(v, b, swapped, a, locs.get(1).length);
        System.arraycopy(v, a, swapped, b, locs.get(0).length);
        meta.write(t -> {
            t.put(KeySpace.CHUNKS, refs.get(0)[0], swapped);
            return null;
        });
        assertThrows(IoException.class, () -> fs.read(ctx, e.handle(), 0, 4096));
    }
}
