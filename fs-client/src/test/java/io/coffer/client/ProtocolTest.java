package io.coffer.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.core.CreateMode;
import io.coffer.core.Credentials;
import io.coffer.core.Entry;
import io.coffer.core.FileHandle;
import io.coffer.core.FileSystemId;
import io.coffer.core.OpContext;
import io.coffer.core.Status;
import io.coffer.core.rpc.Messages;
import io.coffer.core.rpc.Op;
import io.coffer.core.rpc.Protocol;
import io.coffer.core.rpc.RpcReply;
import io.coffer.core.status.ExistException;
import io.coffer.server.CofferServer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The protocol at the socket: handshake, framing limits, malformed input, pipelining, the
 * duplicate-request cache across reconnects and restarts, and the write verifier.
 */
class ProtocolTest {
    @TempDir
    Path dir;
    CofferServer server;
    String fsId;

    @BeforeEach
    void start() throws IOException {
        server = newServer(0);
        fsId = server.fileSystems().createFileSystem("t", false, null, 0, "test").id();
    }

    private CofferServer newServer(int port) throws IOException {
        return LoopbackServer.start(dir.resolve("data"), port);
    }

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
        }
    }

    private int port() {
        return server.address().getPort();
    }

    private RpcClient client() throws IOException {
        RpcClient c = new RpcClient(RpcClient.Options.of("127.0.0.1", port()).withConnections(2));
        c.connect(5000);
        return c;
    }

    /** A raw connection speaking frames by hand. */
    private static final class Raw implements AutoCloseable {
        final Socket s;
        final DataOutputStream out;
        final DataInputStream in;

        Raw(int port) throws IOException {
            s = new Socket("127.0.0.1", port);
            s.setSoTimeout(10_000);
            out = new DataOutputStream(s.getOutputStream());
            in = new DataInputStream(s.getInputStream());
        }

        void call(long xid, Op op, ByteBuf args) throws IOException {
            call(xid, op.code(), args);
        }

        /** A call with the op field as given (the retransmission bit, or an unknown code). */
        void call(long xid, int opField, ByteBuf args) throws IOException {
            byte[] body = new byte[args.readableBytes()];
            args.readBytes(body);
            args.release();
            int len = 1 + 8 + 2 + 9 + body.length;
            out.writeInt(len);
            out.writeByte(Protocol.TYPE_CALL);
            out.writeLong(xid);
            out.writeShort(opField);
            out.writeInt(0);
            out.writeInt(0);
            out.writeByte(0);
            out.write(body);
            out.flush();
        }

        /** Reads one reply: xid, status, body. */
        Object[] reply() throws IOException {
            int len = in.readInt();
            byte[] frame = new byte[len];
            in.readFully(frame);
            ByteBuf b = Unpooled.wrappedBuffer(frame);
            b.readByte();
            long xid = b.readLong();
            Status st = Status.ofErrno(b.readInt());
            return new Object[] {xid, st, b};
        }

        void hello(UUID id, int min, int max) throws IOException {
            ByteBuf a = Unpooled.buffer();
            new Messages.HelloArgs(min, max, id, "raw").write(a);
            call(1, Op.HELLO, a);
        }

        boolean closedByPeer() {
            try {
                return in.read() < 0;
            } catch (IOException e) {
                return true;
            }
        }

        @Override
        public void close() throws IOException {
            s.close();
        }
    }

    private void assertServerStillServes() throws IOException {
        try (RpcClient c = client()) {
            RemoteFs fs = new RemoteFs(c);
            Entry root = fs.mount(OpContext.root(), FileSystemId.parse(fsId), "/");
            assertTrue(fs.getattr(OpContext.root(), root.handle()).isDirectory());
        }
    }

    @Test
    void handshakeWithUnsupportedVersionIsRefusedAndClosed() throws IOException {
        try (Raw r = new Raw(port())) {
            r.hello(UUID.randomUUID(), 7, 9);
            Object[] rep = r.reply();
            assertEquals(Status.EPROTONOSUPPORT, rep[1]);
            assertTrue(r.closedByPeer());
        }
        assertServerStillServes();
    }

    @Test
    void callsBeforeHelloAreAProtocolViolation() throws IOException {
        try (Raw r = new Raw(port())) {
            ByteBuf a = Unpooled.buffer();
            new FileHandle(1, 1, 1).write(a);
            r.call(5, Op.GETATTR, a);
            Object[] rep = r.reply();
            assertEquals(5L, rep[0]);
            assertEquals(Status.EPROTO, rep[1]);
            assertTrue(r.closedByPeer());
        }
    }

    @Test
    void garbageAndOversizedFramesCloseOnlyThatConnection() throws IOException {
        try (RpcClient healthy = client()) {
            try (Raw r = new Raw(port())) {
                r.out.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes());
                r.out.flush();
                assertTrue(r.closedByPeer(), "an HTTP request is not a frame of ours");
            }
            try (Raw r = new Raw(port())) {
                r.out.writeInt(Protocol.MAX_FRAME + 1);
                r.out.write(new byte[1024]);
                r.out.flush();
                assertTrue(r.closedByPeer(), "an oversized frame closes the connection before it is read");
            }
            try (Raw r = new Raw(port())) {
                r.hello(UUID.randomUUID(), 1, 1);
                assertEquals(Status.OK, r.reply()[1]);
                // A LOOKUP whose name length runs past the end of the frame.
                ByteBuf a = Unpooled.buffer();
                new FileHandle(1, 1, 1).write(a);
                a.writeShort(500);
                a.writeBytes(new byte[10]);
                r.call(2, Op.LOOKUP, a);
                Object[] rep = r.reply();
                assertEquals(Status.EPROTO, rep[1]);
                assertTrue(r.closedByPeer());
            }
            // The healthy client's connection was never disturbed.
            new RemoteFs(healthy).ping();
        }
        assertServerStillServes();
    }

    @Test
    void aWriteSetattrThatWouldChangeTheSizeIsAProtocolViolation() throws IOException {
        try (Raw r = new Raw(port())) {
            r.hello(UUID.randomUUID(), 1, Protocol.VERSION_MAX);
            assertEquals(Status.OK, r.reply()[1]);
            ByteBuf a = Unpooled.buffer();
            new FileHandle(1, 1, 1).write(a);
            a.writeLong(0);
            a.writeByte(1);
            io.coffer.core.SetAttributes.size(0).write(a);
            a.writeInt(0);
            r.call(2, Op.WRITE_SETATTR, a);
            Object[] rep = r.reply();
            assertEquals(Status.EPROTO, rep[1]);
            assertTrue(r.closedByPeer());
        }
        assertServerStillServes();
    }

    @Test
    void versionOneClientsAreStillServed() throws IOException {
        try (Raw r = new Raw(port())) {
            r.hello(UUID.randomUUID(), 1, 1);
            Object[] rep = r.reply();
            assertEquals(Status.OK, rep[1]);
            assertEquals(1, ((ByteBuf) rep[2]).readUnsignedShort(), "the server speaks version 1 to a version 1 client");
        }
        try (RpcClient c = client()) {
            assertEquals(Protocol.VERSION_MAX, c.protocolVersion());
            assertTrue(new RemoteFs(c).writeSetattrSupported());
        }
    }

    @Test
    void manyCallsInFlightOnOneConnection() throws Exception {
        try (RpcClient c = new RpcClient(RpcClient.Options.of("127.0.0.1", port()).withConnections(1))) {
            c.connect(5000);
            RemoteFs fs = new RemoteFs(c);
            Entry root = fs.mount(OpContext.root(), FileSystemId.parse(fsId), "/");
            List<CompletableFuture<RpcReply>> calls = new ArrayList<>();
            for (int i = 0; i < 2000; i++) {
                ByteBuf a = Unpooled.buffer();
                root.handle().write(a);
                calls.add(c.call(Op.GETATTR, Credentials.ROOT, a));
            }
            for (CompletableFuture<RpcReply> f : calls) {
                RpcReply r = RpcClient.await(f);
                assertEquals(Status.OK, r.status());
                r.release();
            }
        }
    }

    @Test
    void retransmittedCreateIsAnsweredFromTheDuplicateCacheEvenAfterARestart() throws Exception {
        UUID client = UUID.randomUUID();
        Entry root;
        try (RpcClient c = client()) {
            root = new RemoteFs(c).mount(OpContext.root(), FileSystemId.parse(fsId), "/");
        }
        ByteBuf args = Unpooled.buffer();
        new Messages.CreateArgs(root.handle(), "once", 0644, CreateMode.EXCLUSIVE).write(args);
        byte[] createArgs = new byte[args.readableBytes()];
        args.readBytes(createArgs);
        Object[] first;
        try (Raw r = new Raw(port())) {
            r.hello(client, 1, 1);
            r.reply();
            r.call(77, Op.CREATE, Unpooled.wrappedBuffer(createArgs));
            first = r.reply();
            assertEquals(Status.OK, first[1]);
        }
        // Same client, same xid, new connection: the reply is the original one, not EEXIST.
        try (Raw r = new Raw(port())) {
            r.hello(client, 1, 1);
            r.reply();
            r.call(77, Op.CREATE, Unpooled.wrappedBuffer(createArgs));
            Object[] again = r.reply();
            assertEquals(Status.OK, again[1]);
            assertEquals(Messages.readEntry((ByteBuf) first[2]).handle(), Messages.readEntry((ByteBuf) again[2]).handle());
        }
        // And after the server restarts (the cache lives in the metadata store).
        int port = port();
        server.close();
        server = newServer(port);
        try (Raw r = new Raw(port)) {
            r.hello(client, 1, 1);
            r.reply();
            r.call(77, Op.CREATE, Unpooled.wrappedBuffer(createArgs));
            assertEquals(Status.OK, r.reply()[1]);
            // A new xid is a new request: now the name exists.
            r.call(78, Op.CREATE, Unpooled.wrappedBuffer(createArgs));
            assertEquals(Status.EEXIST, r.reply()[1]);
        }
    }

    @Test
    void versionTwoClientsMarkRetransmissionsAndOnlyThoseAreAnsweredFromTheCache() throws Exception {
        UUID client = UUID.randomUUID();
        Entry root;
        try (RpcClient c = client()) {
            root = new RemoteFs(c).mount(OpContext.root(), FileSystemId.parse(fsId), "/");
        }
        ByteBuf args = Unpooled.buffer();
        new Messages.CreateArgs(root.handle(), "marked", 0644, CreateMode.EXCLUSIVE).write(args);
        byte[] createArgs = new byte[args.readableBytes()];
        args.readBytes(createArgs);
        Object[] first;
        try (Raw r = new Raw(port())) {
            r.hello(client, 1, 2);
            r.reply();
            r.call(90, Op.CREATE, Unpooled.wrappedBuffer(createArgs));
            first = r.reply();
            assertEquals(Status.OK, first[1]);
        }
        try (Raw r = new Raw(port())) {
            r.hello(client, 1, 2);
            r.reply();
            r.call(90, Op.CREATE.code() | io.coffer.core.rpc.RpcCall.RETRANSMISSION_BIT, Unpooled.wrappedBuffer(createArgs));
            Object[] again = r.reply();
            assertEquals(Status.OK, again[1], "a marked retransmission gets the original reply");
            assertEquals(Messages.readEntry((ByteBuf) first[2]).handle(), Messages.readEntry((ByteBuf) again[2]).handle());
            // Unmarked, the same xid is taken for a call never sent before (the client promises so): it runs.
            r.call(90, Op.CREATE, Unpooled.wrappedBuffer(createArgs));
            assertEquals(Status.EEXIST, r.reply()[1]);
        }
    }

    @Test
    void theClientMarksWhatItSendsAgainAfterAConnectionIsLost() throws Exception {
        // A stand-in server: answers HELLO (version 2), drops the connection on the first CREATE,
        // and on the next connection records how the CREATE came back.
        try (java.net.ServerSocket fake = new java.net.ServerSocket(0, 5, java.net.InetAddress.getLoopbackAddress())) {
            java.util.concurrent.CompletableFuture<int[]> seen = new java.util.concurrent.CompletableFuture<>();
            Thread t = new Thread(() -> {
                try {
                    for (int conn = 0; conn < 2; conn++) {
                        try (Socket s = fake.accept()) {
                            DataInputStream in = new DataInputStream(s.getInputStream());
                            DataOutputStream out = new DataOutputStream(s.getOutputStream());
                            while (true) {
                                byte[] frame = new byte[in.readInt()];
                                in.readFully(frame);
                                ByteBuf b = Unpooled.wrappedBuffer(frame);
                                b.readByte();
                                long xid = b.readLong();
                                int field = b.readUnsignedShort();
                                if ((field & 0x7FFF) == Op.HELLO.code()) {
                                    ByteBuf r = Unpooled.buffer();
                                    new Messages.HelloResult(2, 42, "fake", Protocol.MAX_IO).write(r);
                                    out.writeInt(1 + 8 + 4 + r.readableBytes());
                                    out.writeByte(Protocol.TYPE_REPLY);
                                    out.writeLong(xid);
                                    out.writeInt(0);
                                    out.write(r.array(), r.readerIndex(), r.readableBytes());
                                    out.flush();
                                } else if ((field & 0x7FFF) == Op.CREATE.code()) {
                                    if (conn == 1) {
                                        seen.complete(new int[] {field, (int) xid});
                                    }
                                    break; // drop the connection without answering
                                }
                            }
                        }
                    }
                } catch (IOException e) {
                    seen.completeExceptionally(e);
                }
            });
            t.setDaemon(true);
            t.start();
            RpcClient c = new RpcClient(RpcClient.Options.of("127.0.0.1", fake.getLocalPort()).withConnections(1));
            try {
                c.connect(5000);
                ByteBuf a = Unpooled.buffer();
                new Messages.CreateArgs(new FileHandle(1, 1, 1), "x", 0644, CreateMode.EXCLUSIVE).write(a);
                c.call(Op.CREATE, io.coffer.core.Credentials.ROOT, a);
                int[] second = seen.get(20, java.util.concurrent.TimeUnit.SECONDS);
                assertEquals(Op.CREATE.code() | io.coffer.core.rpc.RpcCall.RETRANSMISSION_BIT, second[0],
                        "the call sent again is marked as a retransmission");
            } finally {
                c.close();
            }
        }
    }

    @Test
    void restartChangesTheVerifierAndTheClientReconnectsOnItsOwn() throws Exception {
        int port = port();
        RpcClient c = new RpcClient(RpcClient.Options.of("127.0.0.1", port).withConnections(2));
        c.connect(5000);
        try {
            long before = c.verifier();
            List<Long> seen = new ArrayList<>();
            c.onVerifierChange(seen::add);
            RemoteFs fs = new RemoteFs(c);
            Entry root = fs.mount(OpContext.root(), FileSystemId.parse(fsId), "/");
            server.close();
            CompletableFuture<Entry> pending = CompletableFuture.supplyAsync(() -> {
                try {
                    return fs.create(OpContext.root(), root.handle(), "made-while-down", 0644, CreateMode.EXCLUSIVE);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(500);
            server = newServer(port);
            Entry made = pending.get();
            assertEquals("made-while-down".length() > 0, made != null);
            assertNotEquals(before, c.verifier());
            assertEquals(List.of(c.verifier()), seen);
            assertThrows(ExistException.class,
                    () -> fs.create(OpContext.root(), root.handle(), "made-while-down", 0644, CreateMode.EXCLUSIVE));
        } finally {
            c.close();
        }
    }

    @Test
    void softMountsGiveUpAfterTheirTimeout() throws Exception {
        RpcClient c = new RpcClient(RpcClient.Options.of("127.0.0.1", port()).withConnections(1).withSoft(2));
        c.connect(5000);
        try {
            server.close();
            server = null;
            long t0 = System.nanoTime();
            assertThrows(io.coffer.core.status.IoException.class, () -> new RemoteFs(c).ping());
            long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
            assertTrue(seconds >= 1 && seconds <= 5, "gave up after " + seconds + " s");
        } finally {
            c.close();
        }
    }

    @Test
    void statusesTravelAsTheirErrno() {
        for (Status s : Status.values()) {
            assertEquals(s, Status.ofErrno(s.errno()));
        }
        assertEquals(Status.EIO, Status.ofErrno(9999));
    }

    @Test
    void unknownServerIsReportedClearly() {
        RpcClient c = new RpcClient(RpcClient.Options.of("127.0.0.1", 1).withConnections(1));
        IOException e = assertThrows(IOException.class, () -> c.connect(1500));
        assertTrue(e.getMessage().contains("cannot reach Coffer server at 127.0.0.1:1"), e.getMessage());
        c.close();
    }

    static void readFully(DataInputStream in, byte[] b) throws IOException {
        try {
            in.readFully(b);
        } catch (EOFException e) {
            throw new IOException("connection closed", e);
        }
    }
}
