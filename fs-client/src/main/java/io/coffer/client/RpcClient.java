package io.coffer.client;

import io.coffer.core.Credentials;
import io.coffer.core.FsException;
import io.coffer.core.Status;
import io.coffer.core.rpc.FrameBuffers;
import io.coffer.core.rpc.Messages.HelloArgs;
import io.coffer.core.rpc.Messages.HelloResult;
import io.coffer.core.rpc.Op;
import io.coffer.core.rpc.Protocol;
import io.coffer.core.rpc.RpcCall;
import io.coffer.core.rpc.RpcDecoder;
import io.coffer.core.rpc.RpcEncoder;
import io.coffer.core.rpc.RpcReply;
import io.coffer.core.rpc.Wire;
import io.coffer.core.status.IoException;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The protocol client: several connections to one server, many calls in flight on each, and
 * replies matched by xid. When a connection drops, its outstanding calls are sent again with
 * their original xids on whichever connection comes back (the server's duplicate-request cache
 * keeps a repeated create or rename from applying twice). With a hard mount calls wait for the
 * server forever, like NFS; a soft mount fails a call with EIO after the timeout.
 */
public final class RpcClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RpcClient.class);

    /** Adds what sits between the socket and the codec (TLS); null for plaintext. */
    public interface ChannelCustomizer {
        void customize(SocketChannel ch) throws IOException;
    }

    /**
     * @param timeoutSeconds soft mounts: how long a call may wait; hard mounts: when to log "not responding"
     */
    public record Options(String host, int port, int connections, boolean hard, int timeoutSeconds,
            ChannelCustomizer customizer, String clientName) {
        public static Options of(String host, int port) {
            return new Options(host, port, 2, true, 30, null, "coffer-client");
        }

        public Options withConnections(int n) {
            return new Options(host, port, n, hard, timeoutSeconds, customizer, clientName);
        }

        public Options withSoft(int timeout) {
            return new Options(host, port, connections, false, timeout, customizer, clientName);
        }

        public Options withCustomizer(ChannelCustomizer c) {
            return new Options(host, port, connections, hard, timeoutSeconds, c, clientName);
        }

        public Options withName(String n) {
            return new Options(host, port, connections, hard, timeoutSeconds, customizer, n);
        }
    }

    private final Options options;
    private final UUID clientId = UUID.randomUUID();
    private final AtomicLong xids = new AtomicLong(1);
    private final EventLoopGroup group;
    private final Bootstrap bootstrap;
    private final Conn[] conns;
    private final AtomicInteger nextConn = new AtomicInteger();
    private final ConcurrentHashMap<Long, Pending> pending = new ConcurrentHashMap<>();
    private final Queue<Pending> backlog = new ConcurrentLinkedQueue<>();
    private final List<LongConsumer> verifierListeners = new CopyOnWriteArrayList<>();
    private final Object verifierLock = new Object();
    private volatile long verifier;
    private volatile boolean haveVerifier;
    /** The protocol version the last handshake agreed on (1 until one has). */
    private volatile int version = Protocol.VERSION_MIN;
    private volatile boolean closed;
    private volatile String lastConnectError = "";
    private volatile long notRespondingSince;
    /** A reason not worth retrying for (a TLS handshake refused before we ever got through). */
    private volatile String fatal;

    private static final class Pending {
        final long xid;
        final Op op;
        final Credentials creds;
        final ByteBuf args;
        final CompletableFuture<RpcReply> future = new CompletableFuture<>();
        final long startedNanos = System.nanoTime();
        volatile Conn conn;
        /** Times handed to a connection; from the second on the server must check its duplicate cache. */
        int sends;

        Pending(long xid, Op op, Credentials creds, ByteBuf args) {
            this.xid = xid;
            this.op = op;
            this.creds = creds;
            this.args = args;
        }
    }

    private final class Conn {
        final int index;
        volatile Channel channel;
        volatile boolean ready;
        volatile long helloXid;
        volatile CompletableFuture<Void> helloDone = new CompletableFuture<>();
        int backoffMillis = 50;

        Conn(int index) {
            this.index = index;
        }
    }

    /**
     * Memory for READ replies of up to 1 MiB of data (read-ahead windows), shared by the
     * connections: up to 8 held for reuse while reads go on (see {@link FrameBuffers}).
     */
    private final FrameBuffers largeFrames = new FrameBuffers((1 << 20) + 4096, 8);

    public RpcClient(Options options) {
        this.options = options;
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        group = new MultiThreadIoEventLoopGroup(Math.min(2, Math.max(1, options.connections())), factory);
        bootstrap = new Bootstrap().group(group)
                .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5000)
                .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT);
        conns = new Conn[Math.max(1, options.connections())];
        for (int i = 0; i < conns.length; i++) {
            conns[i] = new Conn(i);
        }
        group.scheduleAtFixedRate(this::checkTimeouts, 1, 1, TimeUnit.SECONDS);
        group.scheduleAtFixedRate(largeFrames::trim, 2, 2, TimeUnit.SECONDS);
    }

    /**
     * Connects every connection and waits until at least one has finished its handshake.
     *
     * @throws IOException with the server's or the network's reason when none could within the timeout
     */
    public void connect(long timeoutMillis) throws IOException {
        for (Conn c : conns) {
            connect(c);
        }
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < deadline) {
            if (fatal != null && !haveVerifier) {
                close();
                throw new IOException("cannot connect to Coffer server at " + options.host() + ":" + options.port() + ": "
                        + fatal);
            }
            for (Conn c : conns) {
                if (c.ready) {
                    return;
                }
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
        }
        throw new IOException("cannot reach Coffer server at " + options.host() + ":" + options.port()
                + (lastConnectError.isEmpty() ? "" : ": " + lastConnectError));
    }

    public UUID clientId() {
        return clientId;
    }

    /** The server's write verifier from the last handshake. */
    public long verifier() {
        return verifier;
    }

    /** The protocol version agreed with the server at the last handshake. */
    public int protocolVersion() {
        return version;
    }

    /** Called with the new verifier when a reconnect finds a restarted server. */
    public void onVerifierChange(LongConsumer listener) {
        verifierListeners.add(listener);
    }

    public boolean isConnected() {
        for (Conn c : conns) {
            if (c.ready) {
                return true;
            }
        }
        return false;
    }

    private void connect(Conn c) {
        if (closed) {
            return;
        }
        c.ready = false;
        c.helloDone = new CompletableFuture<>();
        Bootstrap b = bootstrap.clone().handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) throws Exception {
                if (options.customizer() != null) {
                    options.customizer().customize(ch);
                }
                ch.pipeline().addLast(new FlushConsolidationHandler(64, true));
                ch.pipeline().addLast(new RpcDecoder(false, largeFrames));
                ch.pipeline().addLast(RpcEncoder.INSTANCE);
                ch.pipeline().addLast(new ReplyHandler(c));
            }
        });
        ChannelFuture f = b.connect(new InetSocketAddress(options.host(), options.port()));
        f.addListener(done -> {
            if (!done.isSuccess()) {
                lastConnectError = String.valueOf(rootMessage(done.cause()));
                scheduleReconnect(c);
                return;
            }
            Channel ch = f.channel();
            c.channel = ch;
            ch.closeFuture().addListener(x -> {
                if (c.channel == ch) {
                    onConnectionLost(c, null);
                }
            });
            sendHello(c);
        });
    }

    private static String rootMessage(Throwable t) {
        Throwable r = t;
        while (r != null && r.getCause() != null && r.getCause() != r) {
            r = r.getCause();
        }
        return r == null ? "unknown error" : r.getMessage() == null ? r.getClass().getSimpleName() : r.getMessage();
    }

    private void scheduleReconnect(Conn c) {
        if (closed) {
            return;
        }
        int delay = c.backoffMillis;
        c.backoffMillis = Math.min(1000, c.backoffMillis * 2);
        group.schedule(() -> connect(c), delay, TimeUnit.MILLISECONDS);
    }

    private void sendHello(Conn c) {
        long xid = xids.getAndIncrement();
        c.helloXid = xid;
        ByteBuf args = Unpooled.buffer();
        new HelloArgs(Protocol.VERSION_MIN, Protocol.VERSION_MAX, clientId, options.clientName()).write(args);
        c.channel.writeAndFlush(new RpcCall(xid, Op.HELLO, Credentials.ROOT, args));
    }

    private void onHello(Conn c, RpcReply reply) {
        if (reply.status() != Status.OK) {
            String msg = safeMessage(reply.body());
            lastConnectError = "handshake refused: " + reply.status() + " " + msg;
            if (!haveVerifier) {
                fatal = lastConnectError;
            }
            log.error("server {}:{} refused the handshake: {} {}", options.host(), options.port(), reply.status(), msg);
            c.channel.close();
            return;
        }
        HelloResult r;
        try {
            r = HelloResult.read(reply.body());
        } catch (FsException e) {
            lastConnectError = "bad handshake reply: " + e.getMessage();
            c.channel.close();
            return;
        }
        boolean changed;
        // Each connection's handshake runs on its own event loop: after a restart two of them
        // must not both see the old verifier and resend every unstable write twice.
        synchronized (verifierLock) {
            changed = haveVerifier && verifier != r.verifier();
            verifier = r.verifier();
            version = r.version();
            haveVerifier = true;
        }
        c.backoffMillis = 50;
        c.ready = true;
        if (notRespondingSince != 0) {
            log.warn("server {}:{} OK again", options.host(), options.port());
            notRespondingSince = 0;
        }
        if (changed) {
            log.warn("server {}:{} restarted (write verifier changed); resending unstable data", options.host(),
                    options.port());
            for (LongConsumer l : verifierListeners) {
                try {
                    l.accept(r.verifier());
                } catch (RuntimeException e) {
                    log.error("verifier listener failed", e);
                }
            }
        }
        c.helloDone.complete(null);
        // Calls that lost their connection, or waited for any, go out now.
        for (Pending p : pending.values()) {
            if (p.conn == null) {
                trySend(p);
            }
        }
        Pending p;
        while ((p = backlog.poll()) != null) {
            if (!p.future.isDone()) {
                trySend(p);
            }
        }
    }

    /** The JDK's certificate errors say "NotAfter: date"; say what that means. */
    private static String explainTls(Throwable t, String fallback) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof java.security.cert.CertificateExpiredException) {
                return "the server's certificate has expired (" + c.getMessage() + ")";
            }
            if (c instanceof java.security.cert.CertificateNotYetValidException) {
                return "the server's certificate is not valid yet (" + c.getMessage() + ")";
            }
        }
        return fallback;
    }

    private static boolean isTlsFailure(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof javax.net.ssl.SSLException || c instanceof java.security.cert.CertificateException) {
                return true;
            }
        }
        return false;
    }

    private static String safeMessage(ByteBuf b) {
        try {
            return b.isReadable() ? Wire.readString(b, 4096) : "";
        } catch (FsException e) {
            return "";
        }
    }

    private void onConnectionLost(Conn c, Throwable cause) {
        c.ready = false;
        c.channel = null;
        if (!closed) {
            log.info("connection {} to {}:{} lost{}", c.index, options.host(), options.port(),
                    cause == null ? "" : ": " + rootMessage(cause));
        }
        for (Pending p : pending.values()) {
            if (p.conn == c) {
                p.conn = null;
                trySend(p);
            }
        }
        scheduleReconnect(c);
    }

    private Conn pickConn() {
        int start = nextConn.getAndIncrement();
        for (int i = 0; i < conns.length; i++) {
            Conn c = conns[Math.floorMod(start + i, conns.length)];
            if (c.ready) {
                return c;
            }
        }
        return null;
    }

    private void trySend(Pending p) {
        if (p.future.isDone()) {
            return;
        }
        Conn c = pickConn();
        if (c == null) {
            backlog.add(p);
            return;
        }
        Channel ch = c.channel;
        if (ch == null) {
            backlog.add(p);
            return;
        }
        p.conn = c;
        boolean again;
        synchronized (p) {
            again = p.sends++ > 0;
        }
        // Version 1 servers know no retransmission bit (they check every call against their cache).
        boolean mark = again && version >= Protocol.VERSION_2;
        ch.writeAndFlush(new RpcCall(p.xid, p.op, p.creds, p.args.retainedDuplicate(), mark)).addListener(f -> {
            if (!f.isSuccess() && p.conn == c) {
                p.conn = null;
                backlog.add(p);
            }
        });
    }

    /** Calls made per operation (retransmissions not counted): round trips, for tests and tuning. */
    private final LongAdder[] calls = newCounters();

    private static LongAdder[] newCounters() {
        LongAdder[] a = new LongAdder[Op.values().length];
        for (int i = 0; i < a.length; i++) {
            a[i] = new LongAdder();
        }
        return a;
    }

    /** How many calls of {@code op} this client has made. */
    public long callCount(Op op) {
        return calls[op.ordinal()].sum();
    }

    /**
     * Sends a call. The client takes ownership of {@code args}. The reply's body belongs to the
     * caller, who must release the reply.
     */
    public CompletableFuture<RpcReply> call(Op op, Credentials creds, ByteBuf args) {
        calls[op.ordinal()].increment();
        if (closed) {
            args.release();
            return CompletableFuture.failedFuture(new IoException("client closed"));
        }
        long xid = xids.getAndIncrement();
        Pending p = new Pending(xid, op, creds, args);
        pending.put(xid, p);
        p.future.whenComplete((r, e) -> p.args.release());
        trySend(p);
        return p.future;
    }

    /** Sends a call and waits for its reply; a non-OK status becomes the matching {@link FsException}. */
    public RpcReply callSync(Op op, Credentials creds, ByteBuf args) throws IOException {
        return await(call(op, creds, args));
    }

    /** Waits for a reply future; a non-OK status becomes the matching {@link FsException}. */
    public static RpcReply await(CompletableFuture<RpcReply> f) throws IOException {
        RpcReply r;
        try {
            r = f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IoException("interrupted");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IoException(String.valueOf(e.getCause()));
        }
        return check(r);
    }

    /** Returns {@code r} if it is OK; otherwise releases it and throws its status as an exception. */
    public static RpcReply check(RpcReply r) throws FsException {
        if (r.status() == Status.OK) {
            return r;
        }
        String m = safeMessage(r.body());
        r.release();
        throw FsException.of(r.status(), m);
    }

    private void checkTimeouts() {
        long now = System.nanoTime();
        boolean late = false;
        for (Pending p : pending.values()) {
            long ageSeconds = (now - p.startedNanos) / 1_000_000_000L;
            if (ageSeconds >= options.timeoutSeconds()) {
                if (!options.hard()) {
                    if (pending.remove(p.xid) != null) {
                        // EIO, as NFS soft mounts answer: applications know it as "the storage failed".
                        p.future.completeExceptionally(new IoException(
                                "server " + options.host() + ":" + options.port() + " not responding (soft mount, "
                                        + options.timeoutSeconds() + " s)"));
                    }
                } else {
                    late = true;
                }
            }
        }
        if (late && notRespondingSince == 0) {
            notRespondingSince = now;
            log.warn("server {}:{} not responding, still trying", options.host(), options.port());
        }
    }

    /** Number of calls waiting for a reply. */
    public int outstanding() {
        return pending.size();
    }

    private final class ReplyHandler extends ChannelInboundHandlerAdapter {
        private final Conn conn;

        ReplyHandler(Conn conn) {
            this.conn = conn;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof RpcReply reply)) {
                io.netty.util.ReferenceCountUtil.release(msg);
                return;
            }
            if (reply.xid() == conn.helloXid) {
                try {
                    onHello(conn, reply);
                } finally {
                    reply.release();
                }
                return;
            }
            Pending p = pending.remove(reply.xid());
            if (p == null || !p.future.complete(reply)) {
                // A duplicate answer to a call already answered (it was sent twice): drop it.
                reply.release();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            lastConnectError = rootMessage(cause);
            if (!haveVerifier && isTlsFailure(cause)) {
                fatal = "TLS handshake failed: " + explainTls(cause, lastConnectError);
            }
            log.debug("connection {} error: {}", conn.index, lastConnectError);
            ctx.close();
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Conn c : conns) {
            Channel ch = c.channel;
            if (ch != null) {
                ch.close();
            }
        }
        for (Pending p : pending.values()) {
            p.future.completeExceptionally(new IoException("client closed"));
        }
        pending.clear();
        try {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.debug("event loop shutdown: {}", e.toString());
        }
        largeFrames.close();
    }
}
