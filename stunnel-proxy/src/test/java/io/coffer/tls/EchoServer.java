package io.coffer.tls;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A plaintext TCP server on 127.0.0.1 for the far end of a tunnel. {@link Mode#ECHO} echoes until the
 * client half-closes and then half-closes too (so half-close is observable end to end);
 * {@link Mode#NO_READ} accepts and never reads (a stalled peer); {@link Mode#GREET_THEN_ECHO} sends a
 * greeting first, as servers that speak first do.
 */
public final class EchoServer implements AutoCloseable {
    public enum Mode {
        ECHO,
        NO_READ,
        GREET_THEN_ECHO,
        /** Sends the greeting, half-closes at once, then counts what the client sends until EOF. */
        GREET_THEN_HALF_CLOSE
    }

    public static final byte[] GREETING = "HELLO FROM SERVER\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private final ServerSocket server;
    private final Mode mode;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger halfClosed = new AtomicInteger();
    private final java.util.concurrent.atomic.AtomicLong received = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.CountDownLatch clientEof = new java.util.concurrent.CountDownLatch(1);
    private final Thread acceptor;

    public EchoServer(Mode mode) throws IOException {
        this.mode = mode;
        server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        acceptor = new Thread(this::acceptLoop, "echo-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public EchoServer() throws IOException {
        this(Mode.ECHO);
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Connections accepted so far. */
    public int accepted() {
        return accepted.get();
    }

    /** Connections on which the client half-closed (EOF seen) and the echo finished. */
    public int halfClosed() {
        return halfClosed.get();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                sockets.add(s);
                accepted.incrementAndGet();
                if (mode == Mode.NO_READ) {
                    continue;
                }
                Thread t = new Thread(() -> echo(s), "echo-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    /** Bytes received by {@link Mode#GREET_THEN_HALF_CLOSE} connections. */
    public long received() {
        return received.get();
    }

    /** Waits until a {@link Mode#GREET_THEN_HALF_CLOSE} client's EOF arrived. */
    public boolean awaitClientEof(long millis) throws InterruptedException {
        return clientEof.await(millis, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    private void echo(Socket s) {
        byte[] buf = new byte[64 * 1024];
        if (mode == Mode.GREET_THEN_HALF_CLOSE) {
            try (s) {
                s.getOutputStream().write(GREETING);
                s.getOutputStream().flush();
                s.shutdownOutput();
                int n;
                while ((n = s.getInputStream().read(buf)) >= 0) {
                    received.addAndGet(n);
                }
                clientEof.countDown();
            } catch (IOException e) {
                // the peer went away
            }
            return;
        }
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            if (mode == Mode.GREET_THEN_ECHO) {
                out.write(GREETING);
                out.flush();
            }
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
            }
            out.flush();
            // Counted before the FIN goes out: the client may see its EOF and ask before this thread runs again.
            halfClosed.incrementAndGet();
            s.shutdownOutput();
            // Hold the socket until the peer closes: closing here would turn unread data into a reset.
            while (in.read(buf) >= 0) {
                // discard
            }
        } catch (IOException e) {
            // the peer went away; nothing to do for a test server
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
        try {
            acceptor.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
