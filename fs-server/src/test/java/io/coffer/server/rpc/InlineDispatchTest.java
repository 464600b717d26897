package io.coffer.server.rpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.core.CreateMode;
import io.coffer.core.Credentials;
import io.coffer.core.FileHandle;
import io.coffer.core.FileSystemId;
import io.coffer.core.OpContext;
import io.coffer.core.ReadResult;
import io.coffer.core.SetAttributes;
import io.coffer.core.Status;
import io.coffer.core.rpc.Messages;
import io.coffer.core.rpc.Op;
import io.coffer.core.rpc.RpcCall;
import io.coffer.core.rpc.RpcReply;
import io.coffer.server.chunk.MemoryChunkStore;
import io.coffer.server.fs.DuplicateRequests;
import io.coffer.server.fs.FixedKeyCiphers;
import io.coffer.server.fs.StoreFileSystem;
import io.coffer.server.meta.MemoryMetadataStore;
import io.coffer.server.meta.MetadataStore;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which calls the event loop answers itself, and that one there never waits for a file's data
 * lock: a small write or a truncation that meets a worker's stable write (which holds the lock
 * through its fsync) is left untouched for a worker, and runs there in full.
 */
@Timeout(60)
class InlineDispatchTest {
    @TempDir
    Path dir;
    final HeldSync meta = new HeldSync(new MemoryMetadataStore());
    StoreFileSystem fs;
    Dispatcher dispatcher;
    Session session;
    FileHandle file;
    long xid;
    final ExecutorService threads = Executors.newCachedThreadPool();

    private void open(boolean strictSync) throws IOException {
        fs = new StoreFileSystem(meta, new MemoryChunkStore(), new FixedKeyCiphers(), Clock.systemUTC(), dir,
                new StoreFileSystem.Options(strictSync, 0, 0, 0.5, 90_000));
        String id = fs.createFileSystem("t", true, null, 4096, "test").id();
        FileHandle root = fs.mount(OpContext.root(), new FileSystemId(FileSystemId.parse(id).value()), "/").handle();
        file = fs.create(OpContext.root(), root, "f", 0644, CreateMode.EXCLUSIVE).handle();
        dispatcher = new Dispatcher(fs, new DuplicateRequests(meta, 60_000), null, "test");
        session = new Session(new InetSocketAddress("127.0.0.1", 1), "plain", AccessPolicy.allowAll("test"));
        session.helloDone = true;
    }

    @AfterEach
    void close() throws IOException {
        meta.release();
        threads.shutdownNow();
        if (fs != null) {
            fs.close();
        }
    }

    private RpcCall read(long offset, int count) {
        ByteBuf b = Unpooled.buffer();
        new Messages.ReadArgs(file, offset, count).write(b);
        return new RpcCall(++xid, Op.READ, Credentials.ROOT, b);
    }

    private RpcCall write(long offset, byte[] data, boolean stable) {
        ByteBuf b = Unpooled.buffer();
        ByteBuf d = Unpooled.wrappedBuffer(data);
        new Messages.WriteArgs(file, offset, stable, d).writeHeader(b);
        b.writeBytes(d);
        return new RpcCall(++xid, Op.WRITE, Credentials.ROOT, b);
    }

    private RpcCall truncate(long size) {
        ByteBuf b = Unpooled.buffer();
        file.write(b);
        SetAttributes.size(size).write(b);
        return new RpcCall(++xid, Op.SETATTR, Credentials.ROOT, b);
    }

    private byte[] content() throws IOException {
        long size = fs.getattr(OpContext.root(), file).size();
        ReadResult r = fs.read(OpContext.root(), file, 0, (int) size + 1);
        byte[] out = new byte[r.data().readableBytes()];
        r.data().readBytes(out);
        r.data().release();
        return out;
    }

    /** Runs the call as the event loop would, failing rather than hanging if it waits. */
    private RpcReply onEventLoop(RpcCall call) throws Exception {
        CompletableFuture<RpcReply> f = CompletableFuture.supplyAsync(() -> dispatcher.dispatchWithoutWaiting(session, call), threads);
        try {
            return f.get(10, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError(call.op() + " waited on the event loop", e);
        }
    }

    private static byte[] filled(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }

    @Test
    void smallReadsAndUnstableWritesRunOnTheEventLoopTheRestOnWorkers() throws IOException {
        open(false);
        assertTrue(dispatcher.runsInline(read(0, 4096)));
        assertTrue(dispatcher.runsInline(read(1 << 20, Dispatcher.INLINE_IO_MAX)));
        assertFalse(dispatcher.runsInline(read(0, Dispatcher.INLINE_IO_MAX + 1)));
        assertTrue(dispatcher.runsInline(write(0, new byte[4096], false)));
        assertTrue(dispatcher.runsInline(write(0, new byte[Dispatcher.INLINE_IO_MAX], false)));
        assertFalse(dispatcher.runsInline(write(0, new byte[Dispatcher.INLINE_IO_MAX + 1], false)));
        assertFalse(dispatcher.runsInline(write(0, new byte[10], true)), "a stable write waits for an fsync");
        assertFalse(dispatcher.runsInline(new RpcCall(++xid, Op.READ, Credentials.ROOT, Unpooled.buffer().writeInt(1))),
                "a short READ is answered EPROTO by a worker, not peeked past its end");
    }

    @Test
    void withEveryChangeSyncedSmallWritesGoToWorkersAndReadsStayInline() throws IOException {
        open(true);
        assertFalse(dispatcher.runsInline(write(0, new byte[4096], false)));
        assertTrue(dispatcher.runsInline(read(0, 4096)));
    }

    @Test
    void aWriteThatWouldWaitForTheDataLockIsLeftUntouchedForAWorker() throws Exception {
        open(false);
        byte[] first = filled(3000, 1);
        assertEquals(Status.OK, onEventLoop(write(0, first, false)).status(),
                "the lock is free: answered on the spot");
        assertArrayEquals(first, content());

        // A worker's stable write holds the file's data lock while its fsync runs.
        meta.hold();
        CompletableFuture<RpcReply> stable = CompletableFuture.supplyAsync(
                () -> dispatcher.dispatch(session, write(3000, filled(100, 2), true)), threads);
        assertTrue(meta.syncing.await(10, TimeUnit.SECONDS), "the stable write reached its fsync");

        RpcCall small = write(10, filled(20, 3), false);
        int at = small.body().readerIndex();
        assertNull(onEventLoop(small), "left for a worker");
        assertEquals(at, small.body().readerIndex(), "its arguments unread");
        RpcCall cut = truncate(5);
        assertNull(onEventLoop(cut), "a truncation waits for the lock too");
        RpcReply r = onEventLoop(read(0, 4096));
        assertNotNull(r, "reads take no data lock");
        assertEquals(Status.OK, r.status());
        r.release();
        assertFalse(stable.isDone());

        meta.release();
        assertEquals(Status.OK, stable.get(10, TimeUnit.SECONDS).status());
        byte[] expected = Arrays.copyOf(first, 3100);
        Arrays.fill(expected, 3000, 3100, (byte) 2);
        assertArrayEquals(expected, content(), "nothing of the calls left over changed the file");

        // On a worker, the same call objects run in full.
        assertEquals(Status.OK, dispatcher.dispatch(session, small).status());
        Arrays.fill(expected, 10, 30, (byte) 3);
        assertArrayEquals(expected, content());
        assertEquals(Status.OK, dispatcher.dispatch(session, cut).status());
        assertArrayEquals(Arrays.copyOf(expected, 5), content());
    }

    /** A metadata store whose sync can be held, as a slow fsync would. */
    static final class HeldSync implements MetadataStore {
        final MetadataStore inner;
        final CountDownLatch syncing = new CountDownLatch(1);
        private volatile CountDownLatch gate;

        HeldSync(MetadataStore inner) {
            this.inner = inner;
        }

        void hold() {
            gate = new CountDownLatch(1);
        }

        void release() {
            CountDownLatch g = gate;
            if (g != null) {
                g.countDown();
            }
        }

        @Override
        public <T> T read(ReadWork<T> work) throws IOException {
            return inner.read(work);
        }

        @Override
        public <T> T write(WriteWork<T> work) throws IOException {
            return inner.write(work);
        }

        @Override
        public void sync() throws IOException {
            CountDownLatch g = gate;
            if (g != null) {
                syncing.countDown();
                try {
                    g.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted");
                }
            }
            inner.sync();
        }

        @Override
        public void close() throws IOException {
            inner.close();
        }
    }
}
