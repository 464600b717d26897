package io.coffer.tls.proxy;

import io.coffer.tls.PemFiles;
import io.coffer.tls.PeerIdentity;
import io.coffer.tls.TlsContexts;
import io.coffer.tls.TlsSetupException;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.group.ChannelGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/** One configured service at run time: its listener, its current TLS context and its counters. */
final class ServiceRuntime {
    /**
     * One socket read at most 64 KiB, and only one per read() call: with AUTO_READ off and a read
     * requested only after the previous write completed, this bounds what a connection holds in
     * memory per direction to about one read, whatever the peers do.
     */
    static final int MAX_READ = 64 * 1024;

    final ServiceConfig config;
    final EventLog log;
    final Transport transport;
    final EventLoopGroup group;
    final ChannelGroup channels;

    private final AtomicReference<SslContext> sslContext = new AtomicReference<>();
    private final List<InetSocketAddress> resolvedConnect = new ArrayList<>();
    private volatile Channel listener;

    final LongAdder bytesIn = new LongAdder();
    final LongAdder bytesOut = new LongAdder();
    final AtomicLong connectionsTotal = new AtomicLong();
    final AtomicLong connectionsActive = new AtomicLong();
    final AtomicLong connectionsFailed = new AtomicLong();
    private final AtomicLong reloads = new AtomicLong();
    private volatile Handshake lastHandshake;
    private volatile X509Certificate ownCertificate;
    private volatile Instant lastReloadAt;
    private volatile String lastReloadError;

    private record Handshake(String protocol, String cipherSuite, String peer, Instant at) {}

    ServiceRuntime(ServiceConfig config, EventLog log, Transport transport, EventLoopGroup group, ChannelGroup channels)
            throws TlsSetupException {
        this.config = config;
        this.log = log;
        this.transport = transport;
        this.group = group;
        this.channels = channels;
        sslContext.set(buildContext());
        if (!config.delayResolve()) {
            for (HostPort target : config.connect()) {
                try {
                    resolvedConnect.add(new InetSocketAddress(InetAddress.getByName(target.host()), target.port()));
                } catch (UnknownHostException e) {
                    // stunnel falls back to resolving per connection when start-up resolution fails; so do we.
                    log.log(EventLog.WARNING, config.name(), "cannot resolve {} now ({}); will resolve per connection",
                            target.host(), e.getMessage());
                    resolvedConnect.clear();
                    break;
                }
            }
        }
    }

    private SslContext buildContext() throws TlsSetupException {
        SslContext ctx = config.clientMode() ? TlsContexts.client(config.tlsPolicy()) : TlsContexts.server(config.tlsPolicy());
        X509Certificate own = null;
        if (config.tlsPolicy().certificateChain().isPresent()) {
            try {
                own = PemFiles.readCertificates(config.tlsPolicy().certificateChain().get()).get(0);
            } catch (IOException e) {
                // Just read successfully by TlsContexts; a race with a rewrite only costs the status detail.
            }
        }
        ownCertificate = own;
        return ctx;
    }

    SslContext sslContext() {
        return sslContext.get();
    }

    /** Rebuilds the TLS context from the files; new connections use it, open ones keep theirs. */
    void reload() throws TlsSetupException {
        lastReloadAt = Instant.now();
        try {
            SslContext fresh = buildContext();
            sslContext.set(fresh);
            reloads.incrementAndGet();
            lastReloadError = null;
            log.log(EventLog.NOTICE, config.name(), "certificates and keys reloaded");
        } catch (TlsSetupException e) {
            lastReloadError = e.getMessage();
            log.log(EventLog.ERR, config.name(), "reload failed, keeping the previous certificates: {}", e.getMessage());
            throw e;
        }
    }

    ChannelFuture bind() {
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.SO_BACKLOG, 256)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.RECVBUF_ALLOCATOR, recvAllocator())
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        initAccepted(ch);
                    }
                });
        for (SocketSetting s : config.socketSettings()) {
            applyServer(b, s);
        }
        HostPort a = config.accept();
        return b.bind(new InetSocketAddress(a.host(), a.port()));
    }

    void bound(Channel ch) {
        listener = ch;
        channels.add(ch);
    }

    static RecvByteBufAllocator recvAllocator() {
        AdaptiveRecvByteBufAllocator a = new AdaptiveRecvByteBufAllocator(512, 16 * 1024, MAX_READ);
        a.maxMessagesPerRead(1);
        return a;
    }

    private void applyServer(ServerBootstrap b, SocketSetting s) {
        switch (s.target()) {
            case 'l':
                if (s.option().equals("SO_REUSEADDR")) {
                    b.option(ChannelOption.SO_REUSEADDR, yes(s.value()));
                } else if (s.option().equals("SO_RCVBUF")) {
                    b.option(ChannelOption.SO_RCVBUF, Integer.parseInt(s.value()));
                }
                break;
            case 'a':
                applyConnection(s, new ConnectionOptionSink() {
                    @Override
                    public <T> void set(ChannelOption<T> o, T v) {
                        b.childOption(o, v);
                    }
                });
                break;
            default:
                break;
        }
    }

    interface ConnectionOptionSink {
        <T> void set(ChannelOption<T> option, T value);
    }

    /** Applies an {@code a:} or {@code r:} socket setting; SO_BINDTODEVICE=lo is already implied by a loopback accept. */
    static void applyConnection(SocketSetting s, ConnectionOptionSink sink) {
        switch (s.option()) {
            case "SO_KEEPALIVE":
                sink.set(ChannelOption.SO_KEEPALIVE, yes(s.value()));
                break;
            case "TCP_NODELAY":
                sink.set(ChannelOption.TCP_NODELAY, yes(s.value()));
                break;
            case "SO_RCVBUF":
                sink.set(ChannelOption.SO_RCVBUF, Integer.parseInt(s.value()));
                break;
            case "SO_SNDBUF":
                sink.set(ChannelOption.SO_SNDBUF, Integer.parseInt(s.value()));
                break;
            default:
                break;
        }
    }

    private static boolean yes(String v) {
        return v.equalsIgnoreCase("yes") || v.equals("1");
    }

    private void initAccepted(Channel ch) {
        channels.add(ch);
        Tunnel tunnel = new Tunnel(this, ch);
        if (!config.clientMode()) {
            SslHandler ssl = TlsContexts.newServerHandler(sslContext.get(), config.tlsPolicy(), ch.alloc());
            configureClose(ssl);
            ch.pipeline().addLast("tls", ssl);
        }
        addIdle(ch);
        ch.pipeline().addLast("tunnel", new TunnelHandler(tunnel, Tunnel.Side.ACCEPT));
    }

    void configureClose(SslHandler ssl) {
        ssl.setCloseNotifyReadTimeout(config.closeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        // Our own close_notify is tiny; if the peer's window is shut for this long, it is not reading at all.
        ssl.setCloseNotifyFlushTimeout(Math.max(1000, Math.min(config.closeTimeout().toMillis(), 3000)),
                TimeUnit.MILLISECONDS);
    }

    void addIdle(Channel ch) {
        if (!config.idleTimeout().isZero()) {
            ch.pipeline().addLast("idle", new IdleStateHandler(0, 0, config.idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
        }
    }

    /** The address to dial for target {@code i}: resolved at start unless {@code delay = yes}. */
    InetSocketAddress connectAddress(int i) {
        if (resolvedConnect.size() == config.connect().size()) {
            return resolvedConnect.get(i);
        }
        return config.connect().get(i).unresolved();
    }

    void recordHandshake(SslHandler ssl) {
        var session = ssl.engine().getSession();
        String peer = PeerIdentity.of(session).map(PeerIdentity::subject).orElse(null);
        lastHandshake = new Handshake(session.getProtocol(), session.getCipherSuite(), peer, Instant.now());
    }

    Optional<InetSocketAddress> boundAddress() {
        Channel l = listener;
        return l == null ? Optional.empty() : Optional.of((InetSocketAddress) l.localAddress());
    }

    Channel listener() {
        return listener;
    }

    ServiceStatus status() {
        Handshake h = lastHandshake;
        X509Certificate own = ownCertificate;
        List<String> connect = new ArrayList<>();
        config.connect().forEach(c -> connect.add(c.toString()));
        return new ServiceStatus(config.name(), config.mode(),
                boundAddress().map(HostPort::format).orElse(config.accept().toString()), connect,
                config.tlsPolicy().provider().name().toLowerCase(java.util.Locale.ROOT),
                connectionsTotal.get(), connectionsActive.get(), connectionsFailed.get(), bytesIn.sum(), bytesOut.sum(),
                Optional.ofNullable(h).map(Handshake::protocol), Optional.ofNullable(h).map(Handshake::cipherSuite),
                Optional.ofNullable(h).map(Handshake::peer), Optional.ofNullable(h).map(Handshake::at),
                Optional.ofNullable(own).map(c -> c.getSubjectX500Principal().getName()),
                Optional.ofNullable(own).map(c -> c.getNotAfter().toInstant()),
                reloads.get(), Optional.ofNullable(lastReloadAt), Optional.ofNullable(lastReloadError));
    }
}
