package io.coffer.tls.proxy;

import io.coffer.tls.TlsSetupException;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The TLS tunnel, in-process: listeners for every service of a {@link ProxyConfig}, relaying between
 * plaintext and TLS. {@link ProxyProcess} adds what a stand-alone process needs (pid file, readiness
 * lines, signals, status file).
 *
 * <p>Thread-safe. {@link #close()} stops listening and closes every connection.
 */
public final class TlsProxy implements AutoCloseable {
    private final ProxyConfig config;
    private final EventLog log;
    private final Transport transport;
    private final EventLoopGroup group;
    private final ChannelGroup channels;
    private final List<ServiceRuntime> services;
    private final Instant startedAt = Instant.now();
    private volatile boolean closed;

    private TlsProxy(ProxyConfig config, EventLog log, Transport transport, EventLoopGroup group, ChannelGroup channels,
            List<ServiceRuntime> services) {
        this.config = config;
        this.log = log;
        this.transport = transport;
        this.group = group;
        this.channels = channels;
        this.services = services;
    }

    /**
     * Builds every service's TLS context and binds every listener; returns when all are bound.
     *
     * @throws TlsSetupException if a certificate, key or CA file cannot be used (message names the service)
     * @throws IOException if a listener cannot bind (message names the service and address)
     */
    public static TlsProxy start(ProxyConfig config) throws TlsSetupException, IOException {
        EventLog log = new EventLog(config.debugLevel(), config.outputFile());
        Transport transport = Transport.select();
        EventLoopGroup group = transport.newGroup(Math.max(2, Runtime.getRuntime().availableProcessors()));
        ChannelGroup channels = new DefaultChannelGroup("coffer-proxy", GlobalEventExecutor.INSTANCE);
        List<ServiceRuntime> services = new ArrayList<>();
        TlsProxy proxy = new TlsProxy(config, log, transport, group, channels, services);
        boolean ok = false;
        try {
            for (ServiceConfig s : config.services()) {
                try {
                    services.add(new ServiceRuntime(s, log, transport, group, channels));
                } catch (TlsSetupException e) {
                    throw new TlsSetupException("service [" + s.name() + "]: " + e.getMessage(), e);
                }
            }
            for (ServiceRuntime s : services) {
                ChannelFuture f = s.bind().awaitUninterruptibly();
                if (!f.isSuccess()) {
                    throw new IOException("service [" + s.config.name() + "]: cannot listen on " + s.config.accept() + ": "
                            + Tunnel.rootMessage(f.cause()), f.cause());
                }
                s.bound(f.channel());
                log.log(EventLog.NOTICE, s.config.name(), "listening on {} ({} mode, {} TLS, {} transport)",
                        s.boundAddress().map(HostPort::format).orElse("?"), s.config.mode(),
                        s.config.tlsPolicy().provider(), transport.name());
            }
            ok = true;
            return proxy;
        } finally {
            if (!ok) {
                proxy.close();
            }
        }
    }

    public ProxyConfig config() {
        return config;
    }

    /** The bound listeners, in configuration order. */
    public List<BoundService> services() {
        List<BoundService> out = new ArrayList<>();
        for (ServiceRuntime s : services) {
            s.boundAddress().ifPresent(a -> out.add(new BoundService(s.config.name(), s.config.mode(), a)));
        }
        return out;
    }

    /** The bound service of that name. */
    public BoundService service(String name) {
        for (BoundService b : services()) {
            if (b.name().equals(name)) {
                return b;
            }
        }
        throw new IllegalArgumentException("no bound service " + name);
    }

    /**
     * Reads every service's certificate, key and CA files again. Connections accepted or opened from
     * now on use the new material; open connections keep theirs. A service whose files fail to load
     * keeps its previous material.
     */
    public ReloadOutcome reload() {
        List<String> ok = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        for (ServiceRuntime s : services) {
            try {
                s.reload();
                ok.add(s.config.name());
            } catch (TlsSetupException e) {
                failed.add("service [" + s.config.name() + "]: " + e.getMessage());
            }
        }
        return new ReloadOutcome(ok, failed);
    }

    /** Reopens the {@code output} log file (after log rotation). */
    public void reopenLog() throws IOException {
        log.reopen();
    }

    /** Counters now. */
    public ProxyStatus status() {
        List<ServiceStatus> st = new ArrayList<>();
        for (ServiceRuntime s : services) {
            st.add(s.status());
        }
        return new ProxyStatus(ProcessHandle.current().pid(), startedAt, Instant.now(), transport.name(), st);
    }

    /**
     * Bytes written to connections but not yet taken by the kernel, summed over all connections: what
     * the proxy itself holds in output buffers. Flow control keeps it to about one read per direction.
     */
    long bufferedBytes() {
        long sum = 0;
        for (Channel ch : channels) {
            var ob = ch.unsafe().outboundBuffer();
            if (ob != null) {
                sum += ob.totalPendingWriteBytes();
            }
        }
        return sum;
    }

    /** {@code epoll} or {@code nio}. */
    public String transport() {
        return transport.name();
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        // Shutting down: send close_notify but do not wait TIMEOUTclose for the peers' answers.
        for (Channel ch : channels) {
            SslHandler ssl = ch.pipeline().get(SslHandler.class);
            if (ssl != null) {
                ssl.setCloseNotifyReadTimeoutMillis(0);
                ssl.setCloseNotifyFlushTimeoutMillis(200);
            }
        }
        // Every close releases what is still queued for its channel; let them finish before the loops stop.
        channels.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        try {
            log.close();
        } catch (IOException e) {
            // closing a log file that failed to flush: nothing left to tell anyone
        }
    }
}
