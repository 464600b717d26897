package io.coffer.server.fs;

import io.coffer.core.FileHandle;
import io.coffer.core.FileSystemId;
import io.coffer.core.OpContext;
import io.coffer.core.Vfs;
import io.coffer.server.chunk.MemoryChunkStore;
import io.coffer.server.meta.MemoryMetadataStore;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** The Vfs contract on in-memory stores, unencrypted. */
class MemoryVfsTest extends VfsContract {
    @TempDir
    Path dir;
    StoreFileSystem fs;
    FileHandle root;

    @BeforeEach
    void setUp() throws IOException {
        fs = new StoreFileSystem(new MemoryMetadataStore(), new MemoryChunkStore(), new FixedKeyCiphers(),
                Clock.systemUTC(), dir, StoreFileSystem.Options.defaults());
        FileSystemRecord r = fs.createFileSystem("t", false, null, CHUNK, "test");
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
