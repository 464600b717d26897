package io.coffer.server.fs;

import io.coffer.core.FileHandle;
import io.coffer.core.FileSystemId;
import io.coffer.core.OpContext;
import io.coffer.core.Vfs;
import io.coffer.server.chunk.SegmentChunkStore;
import io.coffer.server.meta.RocksMetadataStore;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** The Vfs contract on the real engines (RocksDB, segment files) with encryption at rest. */
class RocksEncryptedVfsTest extends VfsContract {
    @TempDir
    Path dir;
    StoreFileSystem fs;
    FileHandle root;

    @BeforeEach
    void setUp() throws IOException {
        fs = new StoreFileSystem(new RocksMetadataStore(dir.resolve("meta"), false),
                new SegmentChunkStore(dir.resolve("chunks"), 1 << 20), new FixedKeyCiphers(), Clock.systemUTC(), dir,
                StoreFileSystem.Options.defaults());
        FileSystemRecord r = fs.createFileSystem("t", true, null, CHUNK, "test");
        root = fs.mount(OpContext.root(), FileSystemId.parse(r.id()), "/").handle();
    }

    @AfterEach
    void tearDown() throws IOException {
        fs.close();
    }

    @Override
    protected Vfs vfs() {
        return fs;
    }

    @Override
    protected FileHandle root() {
        return root;
    }
}
