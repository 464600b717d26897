package io.coffer.server.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.core.CreateMode;
import io.coffer.core.Entry;
import io.coffer.core.FileHandle;
import io.coffer.core.FileSystemId;
import io.coffer.core.FsException;
import io.coffer.core.OpContext;
import io.coffer.core.ReadResult;
import io.coffer.core.Status;
import io.coffer.core.Vfs;
import io.coffer.kms.CreateKeyRequest;
import io.coffer.kms.Kms;
import io.coffer.server.chunk.SegmentChunkStore;
import io.coffer.server.crypto.KmsCiphers;
import io.coffer.server.meta.RocksMetadataStore;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Vfs contract on the real engines with data keys from a real local KMS, plus what a refused
 * key does to file operations: they fail with the KMS's verdict, and come back unharmed.
 */
class RocksKmsVfsTest extends VfsContract {
    private static final Duration TTL = Duration.ofSeconds(60);

    @TempDir
    Path dir;
    final AtomicLong nanos = new AtomicLong();
    Kms kms;
    KmsCiphers ciphers;
    StoreFileSystem fs;
    FileHandle root;
    String keyId;

    @BeforeEach
    void setUp() throws Exception {
        kms = Kms.builder().keystoreDir(dir.resolve("kms")).auditFsync(false).build();
        ciphers = new KmsCiphers(kms, new KmsCiphers.Options(TTL, Duration.ofSeconds(1), Duration.ZERO,
                Duration.ofSeconds(30), nanos::get, false));
        fs = new StoreFileSystem(new RocksMetadataStore(dir.resolve("meta"), false),
                new SegmentChunkStore(dir.resolve("chunks"), 1 << 20), ciphers, Clock.systemUTC(), dir,
                StoreFileSystem.Options.defaults());
        keyId = kms.createKey(CreateKeyRequest.of("vfs test"), "test").keyId().toString();
        FileSystemRecord r = fs.createFileSystem("t", true, keyId, CHUNK, "test");
        assertEquals(keyId, r.kmsKeyId());
        root = fs.mount(OpContext.root(), FileSystemId.parse(r.id()), "/").handle();
    }

    @AfterEach
    void tearDown() throws IOException {
        fs.close();
        ciphers.close();
        kms.close();
    }

    @Override
    protected Vfs vfs() {
        return fs;
    }

    @Override
    protected FileHandle root() {
        return root;
    }

    private static Status statusOf(ThrowingCall c) {
        FsException e = assertThrows(FsException.class, c::run);
        return e.status();
    }

    @FunctionalInterface
    interface ThrowingCall {
        void run() throws IOException;
    }

    @Test
    void aDisabledKeyRefusesFileOperationsWithEaccesAndEnablingBringsTheDataBack() throws Exception {
        OpContext ctx = OpContext.root();
        Entry f = fs.create(ctx, root, "secret.txt", 0644, CreateMode.UNCHECKED);
        byte[] data = "kept across a disable/enable".getBytes(StandardCharsets.UTF_8);
        fs.write(ctx, f.handle(), 0, Unpooled.wrappedBuffer(data), true);

        kms.disableKey(keyId, "test");
        nanos.addAndGet(TTL.toNanos());
        assertEquals(Status.EACCES, statusOf(() -> fs.read(ctx, f.handle(), 0, 100)));
        assertEquals(Status.EACCES, statusOf(() -> fs.getattr(ctx, f.handle())));
        assertEquals(Status.EACCES, statusOf(() -> fs.write(ctx, f.handle(), 0, Unpooled.wrappedBuffer(data), true)));
        assertEquals(Status.EACCES, statusOf(() -> fs.lookup(ctx, root, "secret.txt")));
        FsException e = assertThrows(FsException.class, () -> fs.read(ctx, f.handle(), 0, 100));
        assertTrue(e.getMessage().contains(keyId) && e.getMessage().contains("DISABLED"), e.getMessage());

        kms.enableKey(keyId, "test");
        nanos.addAndGet(Duration.ofSeconds(1).toNanos());
        ReadResult r = fs.read(ctx, f.handle(), 0, 100);
        assertArrayEquals(data, ByteBufUtil.getBytes(r.data()));
        r.data().release();
    }
}
