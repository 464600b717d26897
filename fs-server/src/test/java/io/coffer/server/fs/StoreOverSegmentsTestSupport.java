package io.coffer.server.fs;

import io.coffer.core.FileHandle;
import io.coffer.core.FileSystemId;
import io.coffer.core.OpContext;
import io.coffer.core.ReadResult;
import io.coffer.server.chunk.SegmentChunkStore;
import io.coffer.server.meta.RocksMetadataStore;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/** A store over RocksDB and segment files in a fresh directory, with one encrypted file system. */
abstract class StoreOverSegmentsTestSupport {
    @TempDir
    Path dir;
    StoreFileSystem fs;
    SegmentChunkStore segments;
    FileHandle root;
    final OpContext ctx = OpContext.root();

    /** Opens the store with segments of at most {@code segmentBytes} and creates the file system. */
    void start(long segmentBytes) throws IOException {
        segments = new SegmentChunkStore(dir.resolve("chunks"), segmentBytes);
        fs = openStore(dir, segments, new FixedKeyCiphers());
        FileSystemRecord r = fs.createFileSystem("t", true, null, 65536, "test");
        root = fs.mount(ctx, FileSystemId.parse(r.id()), "/").handle();
    }

    /** A store over RocksDB in {@code dir} and {@code segments}, syncing only when asked. */
    static StoreFileSystem openStore(Path dir, SegmentChunkStore segments, CipherSource ciphers) throws IOException {
        // Every write here is committed before a test compacts: no segment needs sparing.
        segments.retireGrace(Duration.ZERO);
        return new StoreFileSystem(new RocksMetadataStore(dir.resolve("meta"), false), segments, ciphers,
                Clock.systemUTC(), dir, new StoreFileSystem.Options(false, 0, 0, 0.5, 90_000));
    }

    @AfterEach
    void closeStore() throws IOException {
        if (fs != null) {
            fs.close();
        }
    }

    byte[] read(FileHandle h, long offset, int count) throws IOException {
        ReadResult r = fs.read(ctx, h, offset, count);
        try {
            byte[] out = new byte[r.data().readableBytes()];
            r.data().readBytes(out);
            return out;
        } finally {
            r.data().release();
        }
    }
}
