package io.coffer.tls.proxy;

import io.coffer.tls.EchoServer;
import io.coffer.tls.TestPki;
import io.coffer.tls.TlsProvider;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Measures the TLS providers through a client-mode proxy and a server-mode proxy on loopback:
 * bulk throughput of one connection (MB/s, plaintext bytes) and new connections per second (each a
 * TLS handshake between the proxies, one byte echoed). Run it without leak detection:
 *
 * <pre>
 * mvn -q -pl stunnel-proxy dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
 * java --add-opens java.base/java.net=ALL-UNNAMED -cp stunnel-proxy/target/classes:stunnel-proxy/target/test-classes:$(cat /tmp/cp.txt) \
 *     io.coffer.tls.proxy.ProviderBenchmark [MiB per bulk run, default 1024] [seconds per handshake run, default 5]
 * </pre>
 */
public final class ProviderBenchmark {
    public static void main(String[] args) throws Exception {
        long mib = args.length > 0 ? Long.parseLong(args[0]) : 1024;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        List<TlsProvider> providers = new ArrayList<>();
        if (args.length > 2) {
            for (String p : args[2].split(",")) {
                providers.add(TlsProvider.parse(p));
            }
        } else {
            providers.addAll(Arrays.asList(TlsProvider.values()));
        }
        Path dir = Files.createTempDirectory("coffer-bench");
        TestPki pki = new TestPki(dir);
        System.out.printf(Locale.ROOT, "java %s, %d cores, %d MiB per bulk run, %d s per connection run%n",
                System.getProperty("java.version"), Runtime.getRuntime().availableProcessors(), mib, seconds);
        for (TlsProvider p : providers) {
            if (!p.isAvailable()) {
                System.out.println(p + ": not available: " + p.unavailabilityCause().orElse(null));
                continue;
            }
            try (SinkServer sink = new SinkServer();
                    EchoServer echo = new EchoServer();
                    TlsProxy bulkServer = Proxies.start(dir, quiet(Proxies.serverConf(pki, sink.port(), "")), p);
                    TlsProxy bulkClient = Proxies.start(dir, quiet(Proxies.clientConf(pki, bulkServer.service("srv").port(), "")), p);
                    TlsProxy hsServer = Proxies.start(dir, quiet(Proxies.serverConf(pki, echo.port(), "")), p);
                    TlsProxy hsClient = Proxies.start(dir, quiet(Proxies.clientConf(pki, hsServer.service("srv").port(), "")), p)) {
                int bulkPort = bulkClient.service("cli").port();
                // Warm-up by time: SunJCE's AES-GCM on JDK 17 needs 10+ s before its fast path is compiled.
                long warmEnd = System.nanoTime() + 12_000_000_000L;
                while (System.nanoTime() < warmEnd) {
                    bulk(bulkPort, 256);
                }
                double best = 0;
                List<String> runs = new ArrayList<>();
                long cpu0 = cpuNanos();
                for (int i = 0; i < 3; i++) {
                    double mbs = bulk(bulkPort, mib);
                    runs.add(String.format(Locale.ROOT, "%.0f", mbs));
                    best = Math.max(best, mbs);
                }
                // Per CPU-second of this whole process (proxies, sender and sink): robust when other
                // work shares the machine, which wall-clock MB/s is not.
                double mbPerCpuSecond = 3.0 * mib * 1024 * 1024 / 1e6 / ((cpuNanos() - cpu0) / 1e9);
                String protocol = bulkClient.status().service("cli").lastProtocol().orElse("?");
                String suite = bulkClient.status().service("cli").lastCipherSuite().orElse("?");
                int hsPort = hsClient.service("cli").port();
                connections(hsPort, 2); // warm-up
                long done0 = CONNECTIONS.get();
                long hcpu0 = cpuNanos();
                double cps = connections(hsPort, seconds);
                double perCpuSecond = (CONNECTIONS.get() - done0) / ((cpuNanos() - hcpu0) / 1e9);
                System.out.printf(Locale.ROOT, "%-9s bulk MB/s runs %s (best %.0f), %.0f MB per CPU-second;"
                        + " connections/s %.0f, %.0f per CPU-second  [%s %s]%n",
                        p, runs, best, mbPerCpuSecond, cps, perCpuSecond, protocol, suite);
            }
        }
    }

    private static final AtomicLong CONNECTIONS = new AtomicLong();

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Per-connection notices would measure the logger, not TLS. */
    private static String quiet(String conf) {
        return conf.replace("foreground = yes\n", "foreground = yes\ndebug = 4\n");
    }

    /** Sends {@code mib} MiB through the proxies to the sink; returns MB/s (10^6 bytes). */
    static double bulk(int port, long mib) throws IOException {
        long total = mib * 1024 * 1024;
        byte[] chunk = new byte[64 * 1024];
        new java.util.Random(1).nextBytes(chunk);
        try (Socket s = Proxies.connect(port)) {
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            long t0 = System.nanoTime();
            out.writeLong(total);
            for (long left = total; left > 0; left -= chunk.length) {
                out.write(chunk, 0, (int) Math.min(chunk.length, left));
            }
            out.flush();
            int ack = s.getInputStream().read();
            long t1 = System.nanoTime();
            if (ack != 'K') {
                throw new IOException("sink did not acknowledge (got " + ack + ")");
            }
            return total / ((t1 - t0) / 1e9) / 1e6;
        }
    }

    /** New connections per second for {@code seconds}, two clients in parallel. */
    static double connections(int port, int seconds) throws Exception {
        AtomicLong done = new AtomicLong();
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        List<Thread> threads = new ArrayList<>();
        List<Throwable> errors = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            Thread th = new Thread(() -> {
                try {
                    while (System.nanoTime() < end) {
                        try (Socket s = Proxies.connect(port)) {
                            s.getOutputStream().write(7);
                            if (s.getInputStream().read() != 7) {
                                throw new IOException("echo failed");
                            }
                        }
                        done.incrementAndGet();
                        CONNECTIONS.incrementAndGet();
                    }
                } catch (Throwable e) {
                    synchronized (errors) {
                        errors.add(e);
                    }
                }
            });
            th.start();
            threads.add(th);
        }
        long t0 = System.nanoTime();
        for (Thread th : threads) {
            th.join();
        }
        if (!errors.isEmpty()) {
            throw new AssertionError("connection run failed", errors.get(0));
        }
        return done.get() / ((System.nanoTime() - t0) / 1e9);
    }

    /** Reads an 8-byte length, discards that many bytes, answers 'K'. */
    static final class SinkServer implements AutoCloseable {
        private final ServerSocket server;

        SinkServer() throws IOException {
            server = new ServerSocket();
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        Thread c = new Thread(() -> drain(s));
                        c.setDaemon(true);
                        c.start();
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        private static void drain(Socket s) {
            try (s) {
                InputStream in = s.getInputStream();
                long left = new DataInputStream(in).readLong();
                byte[] buf = new byte[256 * 1024];
                while (left > 0) {
                    int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                    if (n < 0) {
                        return;
                    }
                    left -= n;
                }
                OutputStream out = s.getOutputStream();
                out.write('K');
                out.flush();
                while (in.read(buf) >= 0) {
                    // wait for the client to close
                }
            } catch (IOException e) {
                // client went away
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
