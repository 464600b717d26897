package io.coffer.server.rpc;

import io.coffer.core.Status;
import io.coffer.core.rpc.RpcCall;
import io.coffer.core.rpc.RpcReply;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection: hands calls to the worker pool (many in flight, answered in any order), stops
 * reading while too many are outstanding (so a client cannot queue unbounded work), and closes
 * the connection with a logged reason on a malformed frame, a protocol violation, or a
 * handshake that never comes.
 */
final class ConnectionHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ConnectionHandler.class);
    static final int MAX_IN_FLIGHT = 256;
    private static final int RESUME_BELOW = 192;
    private static final long HELLO_TIMEOUT_SECONDS = 30;

    private final Dispatcher dispatcher;
    private final Executor workers;
    private final Session session;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final ConnectionTracker tracker;

    ConnectionHandler(Dispatcher dispatcher, Executor workers, Session session, ConnectionTracker tracker) {
        this.dispatcher = dispatcher;
        this.workers = workers;
        this.session = session;
        this.tracker = tracker;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        tracker.opened(ctx.channel());
        ctx.executor().schedule(() -> {
            if (!session.helloDone && ctx.channel().isActive()) {
                log.warn("closing connection from {}: no HELLO within {} s", session.remote, HELLO_TIMEOUT_SECONDS);
                ctx.close();
            }
        }, HELLO_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof RpcCall call)) {
            io.netty.util.ReferenceCountUtil.release(msg);
            return;
        }
        if (inFlight.incrementAndGet() >= MAX_IN_FLIGHT) {
            ctx.channel().config().setAutoRead(false);
        }
        if (dispatcher.runsInline(call)) {
            // Metadata calls and small reads and writes take microseconds; two thread hand-offs
            // per call (to a worker and back to the event loop) cost more than the call itself on
            // a small machine.
            RpcReply reply = dispatcher.dispatchWithoutWaiting(session, call);
            if (reply != null) {
                call.release();
                answer(ctx, call, reply);
                return;
            }
        }
        try {
            workers.execute(() -> run(ctx, call));
        } catch (RejectedExecutionException e) {
            call.release();
            inFlight.decrementAndGet();
            ctx.close();
        }
    }

    private void run(ChannelHandlerContext ctx, RpcCall call) {
        RpcReply reply;
        try {
            reply = dispatcher.dispatch(session, call);
        } finally {
            call.release();
        }
        answer(ctx, call, reply);
    }

    private void answer(ChannelHandlerContext ctx, RpcCall call, RpcReply reply) {
        boolean violation = reply.status() == Status.EPROTO || reply.status() == Status.EPROTONOSUPPORT;
        ctx.writeAndFlush(reply).addListener(f -> {
            if (violation) {
                log.warn("closing connection from {}: protocol violation in {}", session.remote, call);
                ctx.close();
            }
            if (inFlight.decrementAndGet() < RESUME_BELOW && !ctx.channel().config().isAutoRead()) {
                ctx.channel().config().setAutoRead(true);
                ctx.read();
            }
        });
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root instanceof java.io.IOException && String.valueOf(root.getMessage()).contains("reset by peer")) {
            log.debug("connection from {} reset", session.remote);
        } else if (isTls(cause)) {
            // The TLS layer already logged the handshake failure with its reason.
            log.debug("closing connection from {} after a TLS failure", session.remote);
        } else {
            log.warn("closing connection from {}: {}", session.remote, describe(cause));
        }
        ctx.close();
    }

    private static boolean isTls(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof javax.net.ssl.SSLException) {
                return true;
            }
        }
        return false;
    }

    static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null && sb.length() < 400; c = c.getCause() == c ? null : c.getCause()) {
            if (sb.length() > 0) {
                sb.append(": ");
            }
            sb.append(c.getClass().getSimpleName()).append(' ').append(c.getMessage());
        }
        return sb.toString();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        tracker.closed(ctx.channel());
        log.debug("connection from {} closed", session);
        super.channelInactive(ctx);
    }
}
