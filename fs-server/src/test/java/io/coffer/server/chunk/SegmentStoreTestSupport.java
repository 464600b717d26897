package io.coffer.server.chunk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/** A segment store in a fresh directory, closed after each test, and records to put in it. */
abstract class SegmentStoreTestSupport {
    @TempDir
    Path dir;
    SegmentChunkStore store;

    @AfterEach
    void closeStore() throws IOException {
        if (store != null) {
            store.close();
        }
    }

    /** {@code n} records of inode {@code ino}, the i-th of {@code size + i} random bytes. */
    static List<SealedChunk> records(int n, int size, long ino, long seed) {
        Random r = new Random(seed);
        List<SealedChunk> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] b = new byte[size + i]; // lengths vary, so records do not sit on block boundaries
            r.nextBytes(b);
            out.add(new SealedChunk(new ChunkKey(7, ino, i, 100 + i), ByteBuffer.wrap(b)));
        }
        return out;
    }

    static List<ChunkKey> keys(List<SealedChunk> rs) {
        return rs.stream().map(SealedChunk::key).toList();
    }

    static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
