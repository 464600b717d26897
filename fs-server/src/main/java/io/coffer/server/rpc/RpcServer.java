package io.coffer.server.rpc;

import io.coffer.core.rpc.RpcDecoder;
import io.coffer.core.rpc.RpcEncoder;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The RPC listener. Frames are decoded on Netty's event loop; calls run on a worker pool because
 * they block on the stores. A {@link ChannelSetup} decides per connection what sits in front of
 * the codec (TLS, plaintext detection) and which access policy applies.
 */
public final class RpcServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RpcServer.class);

    private final EventLoopGroup boss;
    private final EventLoopGroup io;
    private final ExecutorService workers;
    private final Channel serverChannel;
    private final ConnectionTracker tracker = new ConnectionTracker();

    /** Per-connection setup of the pipeline in front of the RPC codec. */
    public interface ChannelSetup {
        /**
         * Adds handlers that must run before the RPC codec (named "rpc-decoder" when added) and
         * returns the connection's initial access policy. {@code installRpc} adds the codec;
         * call it now, or later (after TLS or plaintext detection).
         */
        AccessPolicy setup(SocketChannel ch, Runnable installRpc);

        /** Plaintext loopback, everything allowed. */
        static ChannelSetup plain() {
            return (ch, installRpc) -> {
                installRpc.run();
                return AccessPolicy.allowAll("plaintext:" + ch.remoteAddress());
            };
        }
    }

    public RpcServer(InetSocketAddress listen, Dispatcher dispatcher, ChannelSetup setup, int workerThreads)
            throws IOException {
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        boss = new MultiThreadIoEventLoopGroup(1, factory);
        io = new MultiThreadIoEventLoopGroup(Math.max(2, Runtime.getRuntime().availableProcessors()), factory);
        AtomicInteger n = new AtomicInteger();
        workers = new ThreadPoolExecutor(workerThreads, workerThreads, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                r -> {
                    Thread t = new Thread(r, "rpc-worker-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        Class<? extends ServerChannel> channelClass = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        ServerBootstrap b = new ServerBootstrap()
                .group(boss, io)
                .channel(channelClass)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        Session session = new Session(ch.remoteAddress(), "tcp", AccessPolicy.allowAll("?"));
                        ChannelPipeline p = ch.pipeline();
                        Runnable installRpc = () -> {
                            ChannelPipeline pp = ch.pipeline();
                            pp.addLast("flush", new FlushConsolidationHandler(64, true));
                            pp.addLast("rpc-decoder", new RpcDecoder(true, RpcDecoder.LARGE_ON_HEAP));
                            pp.addLast("rpc-encoder", RpcEncoder.INSTANCE);
                            pp.addLast("rpc", new ConnectionHandler(dispatcher, workers, session, tracker));
                        };
                        session.policy = setup.setup(ch, installRpc);
                        ch.attr(SessionAccess.KEY).set(session);
                    }
                });
        try {
            serverChannel = b.bind(listen).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new IOException("interrupted while binding " + listen);
        } catch (Exception e) {
            close();
            throw new IOException("cannot listen on " + listen + ": " + e.getMessage(), e);
        }
        log.info("listening on {} ({} transport, {} workers)", serverChannel.localAddress(), epoll ? "epoll" : "nio",
                workerThreads);
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    public int connectionCount() {
        return tracker.count();
    }

    @Override
    public void close() {
        if (serverChannel != null) {
            serverChannel.close().awaitUninterruptibly();
        }
        tracker.channels.close().awaitUninterruptibly();
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        io.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        workers.shutdown();
        try {
            workers.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        boss.terminationFuture().awaitUninterruptibly();
        io.terminationFuture().awaitUninterruptibly();
    }
}
