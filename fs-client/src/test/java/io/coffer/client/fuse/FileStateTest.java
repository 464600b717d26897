package io.coffer.client.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.client.RemoteFs;
import io.coffer.client.RpcClient;
import io.coffer.core.CreateMode;
import io.coffer.core.Entry;
import io.coffer.core.FileHandle;
import io.coffer.core.FileSystemId;
import io.coffer.core.OpContext;
import io.coffer.core.ReadResult;
import io.coffer.core.rpc.Op;
import io.coffer.server.CofferServer;
import io.coffer.client.LoopbackServer;
import io.netty.buffer.ByteBuf;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Write-behind against a real server: how many round trips a close costs, and that what a close
 * acknowledged is there after the server restarts.
 */
class FileStateTest {
    @TempDir
    Path dir;
    CofferServer server;
    RpcClient rpc;
    RemoteFs fs;
    Entry root;
    int port;

    @BeforeEach
    void start() throws IOException {
        server = newServer(0);
        port = server.address().getPort();
        String fsId = server.fileSystems().createFileSystem("t", true, null, 0, "test").id();
        rpc = new RpcClient(RpcClient.Options.of("127.0.0.1", port));
        rpc.connect(5000);
        fs = new RemoteFs(rpc);
        root = fs.mount(OpContext.root(), FileSystemId.parse(fsId), "/");
    }

    private CofferServer newServer(int p) throws IOException {
        return LoopbackServer.start(dir.resolve("data"), p);
    }

    @AfterEach
    void stop() throws IOException {
        if (rpc != null) {
            rpc.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** A new file and the write-behind state a mount would give it. */
    private record Opened(Entry entry, FileState state) {
    }

    private Opened open(String name) throws IOException {
        Entry e = fs.create(OpContext.root(), root.handle(), name, 0644, CreateMode.EXCLUSIVE);
        return new Opened(e, new FileState(e.handle(), fs, new WriteBudget(16 << 20, () -> { })));
    }

    private void write(FileState s, long offset, byte[] data) throws IOException {
        s.write(OpContext.root().credentials(), offset, data.length, dst -> dst.writeBytes(data));
    }

    private byte[] readAll(FileHandle h, int size) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (out.size() < size) {
            ReadResult r = fs.read(OpContext.root(), h, out.size(), 1 << 20);
            ByteBuf d = r.data();
            try {
                if (d.readableBytes() == 0) {
                    break;
                }
                byte[] b = new byte[d.readableBytes()];
                d.readBytes(b);
                out.write(b);
            } finally {
                d.release();
            }
        }
        return out.toByteArray();
    }

    /** Restarts the server on the same data and port; the client reconnects by itself. */
    private void restartServer() throws IOException {
        server.close();
        server = newServer(port);
    }

    @Test
    void closingASmallFileWritesItStableInOneRoundTrip() throws Exception {
        Opened f = open("small");
        Entry e = f.entry();
        FileState s = f.state();
        byte[] data = random(9000, 1);
        write(s, 0, data);
        long writes = rpc.callCount(Op.WRITE);
        long commits = rpc.callCount(Op.COMMIT);
        s.flush();
        assertEquals(1, rpc.callCount(Op.WRITE) - writes, "one WRITE");
        assertEquals(0, rpc.callCount(Op.COMMIT) - commits, "no COMMIT after a stable WRITE");
        restartServer();
        assertArrayEquals(data, readAll(e.handle(), data.length));
    }

    @Test
    void aSetattrBeforeCloseWritesStableSoTheCloseHasNothingToCommit() throws Exception {
        Opened f = open("tarred");
        Entry e = f.entry();
        FileState s = f.state();
        byte[] data = random(20_000, 2);
        write(s, 0, data);
        long writes = rpc.callCount(Op.WRITE);
        long commits = rpc.callCount(Op.COMMIT);
        s.drain(); // what a SETATTR (tar's utimensat, fchown, fchmod) does first
        s.flush(); // the close
        assertEquals(1, rpc.callCount(Op.WRITE) - writes);
        assertEquals(0, rpc.callCount(Op.COMMIT) - commits);
        restartServer();
        assertArrayEquals(data, readAll(e.handle(), data.length));
    }

    @Test
    void aStreamStillWritesUnstableAndCommitsAtClose() throws Exception {
        Opened f = open("stream");
        Entry e = f.entry();
        FileState s = f.state();
        byte[] data = random(3 << 20, 3);
        long writes = rpc.callCount(Op.WRITE);
        long commits = rpc.callCount(Op.COMMIT);
        for (int off = 0; off < data.length; off += 128 * 1024) {
            write(s, off, java.util.Arrays.copyOfRange(data, off, off + 128 * 1024));
        }
        s.flush();
        assertTrue(rpc.callCount(Op.WRITE) - writes >= 3, "the stream went out in several WRITEs");
        assertTrue(rpc.callCount(Op.COMMIT) - commits >= 1, "and was made durable by a COMMIT");
        restartServer();
        assertArrayEquals(data, readAll(e.handle(), data.length));
    }
}
