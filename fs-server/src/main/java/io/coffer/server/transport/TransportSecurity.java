package io.coffer.server.transport;

import io.coffer.server.rpc.AccessPolicy;
import io.coffer.server.rpc.RpcServer;
import io.coffer.server.rpc.SessionAccess;
import io.coffer.tls.PeerIdentity;
import io.coffer.tls.TlsContexts;
import io.coffer.tls.TlsPolicy;
import io.coffer.tls.TlsSetupException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One port for TLS and plaintext: the first byte of a connection tells them apart (a TLS
 * handshake record starts with 22; a Coffer frame with the high byte of its length, 0). TLS
 * connections get the server's certificate, optional or required client certificates, and the
 * access rules of their identity; plaintext connections get only what each file system's
 * transport policy allows (by default: loopback only).
 */
public final class TransportSecurity implements RpcServer.ChannelSetup {
    private static final Logger log = LoggerFactory.getLogger(TransportSecurity.class);
    private static final int TLS_HANDSHAKE_RECORD = 22;

    private final TlsPolicy policy;
    private final AccessRules rules;
    private volatile SslContext context;

    public TransportSecurity(TlsPolicy policy, AccessRules rules) throws TlsSetupException {
        this.policy = policy;
        this.rules = rules;
        this.context = TlsContexts.server(policy);
    }

    /** Re-reads the certificate and key (new connections use them; open ones keep theirs). */
    public void reload() throws TlsSetupException {
        context = TlsContexts.server(policy);
        log.info("TLS certificate and key reloaded");
    }

    private static boolean isLoopback(SocketChannel ch) {
        InetSocketAddress a = ch.remoteAddress();
        return a != null && a.getAddress() != null && a.getAddress().isLoopbackAddress();
    }

    @Override
    public AccessPolicy setup(SocketChannel ch, Runnable installRpc) {
        ch.pipeline().addLast("detect", new Detector(installRpc));
        // Until the first byte arrives nothing is served; the detector replaces this.
        return new ConnectionPolicy(false, false, String.valueOf(ch.remoteAddress()), () -> null, rules);
    }

    private final class Detector extends ByteToMessageDecoder {
        private final Runnable installRpc;

        Detector(Runnable installRpc) {
            this.installRpc = installRpc;
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            if (!in.isReadable()) {
                return;
            }
            SocketChannel ch = (SocketChannel) ctx.channel();
            int first = in.getUnsignedByte(in.readerIndex());
            String remote = String.valueOf(ch.remoteAddress());
            boolean loopback = isLoopback(ch);
            if (first == TLS_HANDSHAKE_RECORD) {
                SslHandler ssl = TlsContexts.newServerHandler(context, policy, ctx.alloc());
                ctx.pipeline().addAfter(ctx.name(), "tls", ssl);
                ctx.pipeline().addAfter("tls", "tls-events", new HandshakeLogger(remote));
                installRpc.run();
                SessionAccess.setPolicy(ch, new ConnectionPolicy(true, loopback, remote,
                        () -> PeerIdentity.of(ssl).orElse(null), rules));
                SessionAccess.setTransport(ch, "tls");
            } else if (first == 0) {
                installRpc.run();
                SessionAccess.setPolicy(ch, new ConnectionPolicy(false, loopback, remote, () -> null, rules));
                SessionAccess.setTransport(ch, "plaintext");
            } else {
                log.warn("closing connection from {}: neither TLS nor a Coffer frame (first byte {})", remote, first);
                in.skipBytes(in.readableBytes());
                ctx.close();
                return;
            }
            ctx.pipeline().remove(this);
        }
    }

    private static final class HandshakeLogger extends ChannelInboundHandlerAdapter {
        private final String remote;

        HandshakeLogger(String remote) {
            this.remote = remote;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof SslHandshakeCompletionEvent e) {
                if (e.isSuccess()) {
                    SslHandler h = ctx.pipeline().get(SslHandler.class);
                    var session = h.engine().getSession();
                    PeerIdentity id = PeerIdentity.of(h).orElse(null);
                    log.info("TLS from {}: {} {}, {}", remote, session.getProtocol(), session.getCipherSuite(),
                            id == null ? "no client certificate" : AccessRules.describe(id));
                    SessionAccess.setTransport(ctx.channel(), session.getProtocol() + " " + session.getCipherSuite());
                } else {
                    log.warn("TLS handshake from {} failed: {}", remote, rootMessage(e.cause()));
                }
            }
            super.userEventTriggered(ctx, evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // Handshake failures are logged above; anything else goes on to the connection handler.
            ctx.fireExceptionCaught(cause);
        }
    }

    static String rootMessage(Throwable t) {
        Throwable r = t;
        while (r.getCause() != null && r.getCause() != r) {
            r = r.getCause();
        }
        return r.getClass().getSimpleName() + ": " + r.getMessage();
    }

    /** For {@code coffer server}: builds the listener's TLS from files. */
    public static TransportSecurity fromFiles(java.nio.file.Path cert, java.nio.file.Path key, java.nio.file.Path ca,
            io.coffer.tls.ClientAuthentication clientAuth, java.nio.file.Path accessFile) throws IOException {
        TlsPolicy.Builder b = TlsPolicy.builder().keyPair(cert, key).clientAuthentication(clientAuth);
        if (ca == null) {
            // Without a CA for client certificates there is nothing to verify them against: none are asked for.
            b.peerVerification(io.coffer.tls.PeerVerification.NONE);
        } else {
            b.trustedCertificates(ca);
            b.peerVerification(clientAuth == io.coffer.tls.ClientAuthentication.REQUIRED
                    ? io.coffer.tls.PeerVerification.CHAIN : io.coffer.tls.PeerVerification.IF_PRESENT);
        }
        TlsPolicy p;
        try {
            p = b.build();
        } catch (IllegalArgumentException e) {
            throw new IOException("TLS settings: " + e.getMessage(), e);
        }
        AccessRules rules = accessFile == null ? AccessRules.openToAll() : AccessRules.load(accessFile);
        try {
            return new TransportSecurity(p, rules);
        } catch (TlsSetupException e) {
            throw new IOException("TLS settings: " + e.getMessage(), e);
        }
    }
}
