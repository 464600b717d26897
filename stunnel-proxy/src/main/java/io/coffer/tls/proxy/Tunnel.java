package io.coffer.tls.proxy;

import io.coffer.tls.TlsContexts;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import javax.net.ssl.SSLSession;

/**
 * One proxied connection: the accepted channel and the one it connected to, relaying in both
 * directions.
 *
 * <p>Both channels live on the same event loop, so this class needs no locks: every method runs on
 * that loop. Flow control: {@code AUTO_READ} is off on both channels and a channel is asked to read
 * again only when the write of what it last read has completed, so a peer that stops reading stops
 * the other side's reads instead of growing buffers here. End of stream travels as half-close: a
 * FIN from either side becomes a FIN (TCP half-close) towards the other once everything before it was
 * written, a close_notify from the TLS peer counts as its FIN, and the connection is closed, with
 * close_notify, when both directions ended, either side failed or went away, or it was idle too long.
 */
final class Tunnel {
    enum Side {
        ACCEPT,
        CONNECT
    }

    private final ServiceRuntime svc;
    private final Channel accepted;
    private Channel connected;
    private final String client;
    private boolean started;
    private boolean closing;
    private boolean counted;
    private final boolean[] inputEnded = new boolean[2];
    private final ArrayDeque<ByteBuf> pendingFromAccept = new ArrayDeque<>();
    private final ArrayDeque<ByteBuf> pendingFromConnect = new ArrayDeque<>();
    private long bytesIn;
    private long bytesOut;

    Tunnel(ServiceRuntime svc, Channel accepted) {
        this.svc = svc;
        this.accepted = accepted;
        InetSocketAddress remote = (InetSocketAddress) accepted.remoteAddress();
        this.client = remote == null ? "?" : HostPort.format(remote);
    }

    private String name() {
        return svc.config.name();
    }

    private Channel channel(Side side) {
        return side == Side.ACCEPT ? accepted : connected;
    }

    private Channel other(Side side) {
        return side == Side.ACCEPT ? connected : accepted;
    }

    private static Side opposite(Side side) {
        return side == Side.ACCEPT ? Side.CONNECT : Side.ACCEPT;
    }

    // ---- lifecycle ------------------------------------------------------------------------------

    void acceptedActive() {
        counted = true;
        svc.connectionsTotal.incrementAndGet();
        svc.connectionsActive.incrementAndGet();
        svc.log.log(EventLog.NOTICE, name(), "accepted connection from {}", client);
        if (svc.config.clientMode()) {
            connect(0);
            return;
        }
        SslHandler ssl = accepted.pipeline().get(SslHandler.class);
        // The TLS handshake comes first: an unauthenticated peer never makes us open a backend connection.
        ssl.handshakeFuture().addListener((Future<Channel> f) -> {
            if (f.isSuccess()) {
                handshakeDone(ssl, client);
                connect(0);
            } else {
                handshakeFailed(client, f.cause());
            }
        });
        accepted.read();
    }

    private void connect(int index) {
        if (closing) {
            return;
        }
        HostPort target = svc.config.connect().get(index);
        Bootstrap b = new Bootstrap()
                .group(accepted.eventLoop())
                .channel(svc.transport.socketChannel())
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE,
                        svc.config.connectTimeout().toMillis()))
                .option(ChannelOption.RECVBUF_ALLOCATOR, ServiceRuntime.recvAllocator())
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (svc.config.clientMode()) {
                            SslHandler ssl = TlsContexts.newClientHandler(svc.sslContext(), svc.config.tlsPolicy(),
                                    ch.alloc(), target.host(), target.port());
                            svc.configureClose(ssl);
                            ch.pipeline().addLast("tls", ssl);
                        }
                        svc.addIdle(ch);
                        ch.pipeline().addLast("tunnel", new TunnelHandler(Tunnel.this, Side.CONNECT));
                    }
                });
        for (SocketSetting s : svc.config.socketSettings()) {
            if (s.target() == 'r') {
                ServiceRuntime.applyConnection(s, new ServiceRuntime.ConnectionOptionSink() {
                    @Override
                    public <T> void set(ChannelOption<T> o, T v) {
                        b.option(o, v);
                    }
                });
            }
        }
        b.connect(svc.connectAddress(index)).addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                svc.log.log(EventLog.ERR, name(), "connect to {} failed: {}", target, rootMessage(f.cause()));
                if (index + 1 < svc.config.connect().size() && !closing) {
                    connect(index + 1);
                } else {
                    svc.connectionsFailed.incrementAndGet();
                    closeAll();
                }
                return;
            }
            connected = f.channel();
            svc.channels.add(connected);
            if (closing) {
                connected.close();
                return;
            }
            svc.log.log(EventLog.NOTICE, name(), "connected to {} for {}", target, client);
            if (!svc.config.clientMode()) {
                start();
                return;
            }
            SslHandler ssl = connected.pipeline().get(SslHandler.class);
            ssl.handshakeFuture().addListener((Future<Channel> h) -> {
                if (h.isSuccess()) {
                    handshakeDone(ssl, target.toString());
                    start();
                } else {
                    handshakeFailed(target.toString(), h.cause());
                }
            });
        });
    }

    private void handshakeDone(SslHandler ssl, String peer) {
        svc.recordHandshake(ssl);
        if (svc.log.enabled(EventLog.INFO)) {
            SSLSession s = ssl.engine().getSession();
            String subject;
            try {
                subject = s.getPeerPrincipal().getName();
            } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
                subject = "no certificate";
            }
            svc.log.log(EventLog.INFO, name(), "TLS with {}: {} {}, peer {}", peer, s.getProtocol(), s.getCipherSuite(),
                    subject);
        }
    }

    private void handshakeFailed(String peer, Throwable cause) {
        if (!closing) {
            svc.connectionsFailed.incrementAndGet();
            svc.log.log(EventLog.ERR, name(), "TLS handshake with {} failed: {}", peer, rootMessage(cause));
        }
        closeAll();
    }

    /** Both ends are ready: deliver what arrived early, then let data flow. */
    private void start() {
        if (closing) {
            return;
        }
        if (!accepted.isActive()) {
            closeAll();
            return;
        }
        started = true;
        drain(Side.ACCEPT, pendingFromAccept);
        drain(Side.CONNECT, pendingFromConnect);
    }

    private void drain(Side from, ArrayDeque<ByteBuf> pending) {
        if (pending.isEmpty()) {
            if (inputEnded[from.ordinal()]) {
                propagateEnd(from);
            } else {
                channel(from).read();
            }
            return;
        }
        ByteBuf last = null;
        while (!pending.isEmpty()) {
            last = pending.poll();
            if (pending.isEmpty()) {
                forward(from, last);
            } else {
                count(from, last.readableBytes());
                other(from).write(last, other(from).voidPromise());
            }
        }
        if (inputEnded[from.ordinal()]) {
            propagateEnd(from); // queued behind the data just written
        }
    }

    // ---- events from TunnelHandler ----------------------------------------------------------------

    void read(Side from, Object msg) {
        if (!(msg instanceof ByteBuf) || closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        ByteBuf buf = (ByteBuf) msg;
        if (!started) {
            (from == Side.ACCEPT ? pendingFromAccept : pendingFromConnect).add(buf);
            return;
        }
        forward(from, buf);
    }

    private void forward(Side from, ByteBuf buf) {
        Channel to = other(from);
        Channel src = channel(from);
        if (to == null || !to.isActive()) {
            buf.release();
            closeAll();
            return;
        }
        count(from, buf.readableBytes());
        to.writeAndFlush(buf).addListener((ChannelFuture f) -> {
            if (f.isSuccess()) {
                if (!inputEnded[from.ordinal()] && !closing) {
                    src.read();
                }
            } else {
                svc.log.log(EventLog.INFO, name(), "write to {} side failed for {}: {}",
                        opposite(from).name().toLowerCase(java.util.Locale.ROOT), client, rootMessage(f.cause()));
                closeAll();
            }
        });
    }

    private void count(Side from, int n) {
        if (from == Side.ACCEPT) {
            bytesIn += n;
            svc.bytesIn.add(n);
        } else {
            bytesOut += n;
            svc.bytesOut.add(n);
        }
    }

    /** The peer on {@code side} will send no more: FIN on plaintext, close_notify (or a bare FIN) on TLS. */
    void inputEnded(Side side, String how) {
        if (inputEnded[side.ordinal()]) {
            return;
        }
        inputEnded[side.ordinal()] = true;
        svc.log.log(EventLog.DEBUG, name(), "{} side of {} ended its output ({})",
                side.name().toLowerCase(java.util.Locale.ROOT), client, how);
        if (!started) {
            if (side == Side.ACCEPT && tlsHandshakeDone(accepted)) {
                return; // start() relays what came before the end, then the end itself
            }
            closeAll(); // ended before the tunnel stood (mid-handshake, or a backend that hung up at once)
            return;
        }
        propagateEnd(side);
    }

    private static boolean tlsHandshakeDone(Channel ch) {
        SslHandler ssl = ch.pipeline().get(SslHandler.class);
        return ssl == null || ssl.handshakeFuture().isSuccess();
    }

    private void propagateEnd(Side from) {
        Channel to = other(from);
        if (closing) {
            return;
        }
        if (to == null || !to.isActive()) {
            closeAll();
            return;
        }
        if (inputEnded[0] && inputEnded[1]) {
            // Both directions are finished: a full close (which sends close_notify on TLS) says it all.
            closeAll();
            return;
        }
        if (!(to instanceof DuplexChannel)) {
            closeAll();
            return;
        }
        // A half-close travels as a TCP half-close under TLS, without close_notify: Netty's BoringSSL
        // engines and every TLS 1.2 engine answer a close_notify by closing both directions (RFC 5246
        // duplex close), which would cut off the direction still sending. close_notify is sent when the
        // connection closes completely (closeAll), so a full close stays authenticated.
        // shutdownOutput() does not wait for queued writes (it fails them), so first let everything
        // already written drain: writes complete in order.
        to.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFuture flushed) -> {
            if (!flushed.isSuccess()) {
                closeAll();
                return;
            }
            shutdownOutput(to);
        });
    }

    private void shutdownOutput(Channel to) {
        if (!to.isActive()) {
            closeAll();
            return;
        }
        ((DuplexChannel) to).shutdownOutput().addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                closeAll();
            }
        });
    }

    void idle(Side side) {
        if (closing) {
            return;
        }
        svc.log.log(EventLog.NOTICE, name(), "connection from {} idle for {} s: closing", client,
                svc.config.idleTimeout().toSeconds());
        closeAll();
    }

    void failed(Side side, Throwable cause) {
        if (closing) {
            return;
        }
        // Handshake failures are reported by the handshake listener, with the peer named.
        if (!tlsHandshakeDone(channel(side))) {
            closeAll();
            return;
        }
        svc.log.log(EventLog.INFO, name(), "{} side of {} failed: {}", side.name().toLowerCase(java.util.Locale.ROOT),
                client, rootMessage(cause));
        closeAll();
    }

    void inactive(Side side) {
        if (side == Side.ACCEPT && counted) {
            counted = false;
            svc.connectionsActive.decrementAndGet();
        }
        closeAll();
    }

    /**
     * Closes both channels after flushing what was already written to each; on a TLS channel the
     * close sends close_notify first. Idempotent.
     */
    void closeAll() {
        if (closing) {
            return;
        }
        closing = true;
        releasePending(pendingFromAccept);
        releasePending(pendingFromConnect);
        closeFlushing(accepted, inputEnded[Side.ACCEPT.ordinal()]);
        if (connected != null) {
            closeFlushing(connected, inputEnded[Side.CONNECT.ordinal()]);
        }
        svc.log.log(EventLog.NOTICE, name(), "connection from {} closed: {} byte(s) in, {} byte(s) out", client, bytesIn,
                bytesOut);
    }

    private static void closeFlushing(Channel ch, boolean inputEnded) {
        SslHandler ssl = ch.pipeline().get(SslHandler.class);
        if (ssl != null && inputEnded) {
            // After the peer's FIN no close_notify can come: do not hold the socket for TIMEOUTclose.
            ssl.setCloseNotifyReadTimeoutMillis(0);
        }
        if (ch.isActive()) {
            ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        } else {
            ch.close();
        }
    }

    private static void releasePending(ArrayDeque<ByteBuf> q) {
        ByteBuf b;
        while ((b = q.poll()) != null) {
            b.release();
        }
    }

    /**
     * The most telling message of a failure: the trust manager's own certificate verdict when there is
     * one (it names the certificate and the reason), else the root cause's message.
     */
    static String rootMessage(Throwable t) {
        if (t == null) {
            return "unknown error";
        }
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof java.security.cert.CertificateException && c.getMessage() != null) {
                return oneLine(c.getMessage());
            }
        }
        Throwable c = t;
        String msg = t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
            if (c.getMessage() != null) {
                msg = c.getMessage();
            }
        }
        return oneLine(msg);
    }

    private static String oneLine(String s) {
        return s.replaceAll("\\s*[\\r\\n]+\\s*", "; ");
    }
}
