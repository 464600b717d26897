package io.coffer.tls.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.tls.EchoServer;
import io.coffer.tls.TestPki;
import io.coffer.tls.TlsProvider;
import io.coffer.tls.IssuedCertificate;
import io.coffer.tls.LogCapture;
import io.coffer.tls.TlsContexts;
import io.coffer.tls.TlsPolicy;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.EnumSource;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class TlsProxyTest {
    @TempDir
    static Path dir;
    static TestPki pki;

    @BeforeAll
    static void pki() throws Exception {
        pki = new TestPki(dir);
    }

    static Stream<Arguments> providerPairs() {
        List<Arguments> out = new ArrayList<>();
        for (TlsProvider c : TlsProvider.values()) {
            for (TlsProvider s : TlsProvider.values()) {
                out.add(Arguments.of(c, s));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "client {0} -> server {1}")
    @MethodSource("providerPairs")
    void echoThroughClientAndServerProxies(TlsProvider clientProvider, TlsProvider serverProvider) throws Exception {
        try (EchoServer echo = new EchoServer();
                TlsProxy server = Proxies.start(dir, Proxies.serverConf(pki, echo.port(), ""), serverProvider);
                TlsProxy client = Proxies.start(dir, Proxies.clientConf(pki, server.service("srv").port(), ""),
                        clientProvider)) {
            byte[] data = Proxies.randomBytes(3 * 1024 * 1024 + 17, 1);
            byte[] back = Proxies.exchange(client.service("cli").port(), data);
            assertArrayEquals(data, back);
            ServiceStatus st = client.status().service("cli");
            assertEquals(data.length, st.bytesIn());
            assertEquals(data.length, st.bytesOut());
            assertEquals("TLSv1.3", st.lastProtocol().orElseThrow());
        }
    }

    /**
     * Half-close both ways, for every provider pair on TLS 1.3 and 1.2: the client's FIN reaches the
     * echo server while the echo keeps flowing back; the server's FIN reaches the client while the
     * client keeps sending.
     */
    @ParameterizedTest(name = "client {0} -> server {1}")
    @MethodSource("providerPairs")
    void halfCloseTravelsBothWays(TlsProvider clientProvider, TlsProvider serverProvider) throws Exception {
        for (String version : new String[] {"TLSv1.3", "TLSv1.2"}) {
            String extra = "sslVersion = " + version + "\n";
            try (EchoServer echo = new EchoServer();
                    TlsProxy server = Proxies.start(dir, Proxies.serverConf(pki, echo.port(), extra), serverProvider);
                    TlsProxy client = Proxies.start(dir, Proxies.clientConf(pki, server.service("srv").port(), extra),
                            clientProvider)) {
                byte[] data = Proxies.randomBytes(2 * 1024 * 1024, 7);
                assertArrayEquals(data, Proxies.roundTrip(client.service("cli").port(), data), version);
                assertEquals(1, echo.halfClosed(), "echo server saw the client's FIN (" + version + ")");
            }
            try (EchoServer greeter = new EchoServer(EchoServer.Mode.GREET_THEN_HALF_CLOSE);
                    TlsProxy server = Proxies.start(dir, Proxies.serverConf(pki, greeter.port(), extra), serverProvider);
                    TlsProxy client = Proxies.start(dir, Proxies.clientConf(pki, server.service("srv").port(), extra),
                            clientProvider);
                    Socket s = Proxies.connect(client.service("cli").port())) {
                assertArrayEquals(EchoServer.GREETING, s.getInputStream().readAllBytes(),
                        "greeting, then EOF from the server's FIN (" + version + ")");
                byte[] data = Proxies.randomBytes(1024 * 1024, 8);
                s.getOutputStream().write(data);
                s.shutdownOutput();
                assertTrue(greeter.awaitClientEof(10_000), "server saw the client's FIN");
                assertEquals(data.length, greeter.received(), "bytes sent after the server's FIN arrived");
            }
        }
    }

    @Test
    void idleConnectionsAreClosedAfterTimeoutIdle() throws Exception {
        try (LogCapture log = new LogCapture("io.coffer.tls.proxy");
                EchoServer echo = new EchoServer();
                TlsProxy server = Proxies.start(dir, Proxies.serverConf(pki, echo.port(), ""), TlsProvider.JDK);
                TlsProxy client = Proxies.start(dir, Proxies.clientConf(pki, server.service("srv").port(),
                        "TIMEOUTidle = 1\n"), TlsProvider.OPENSSL);
                Socket s = Proxies.connect(client.service("cli").port())) {
            s.getOutputStream().write(42);
            assertEquals(42, s.getInputStream().read());
            long t0 = System.nanoTime();
            assertEquals(-1, s.getInputStream().read(), "EOF once idle");
            long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(waited >= 700 && waited < 5000, "closed after ~1 s idle, took " + waited + " ms");
            log.await(l -> l.contains("[cli]") && l.contains("idle for 1 s"), Duration.ofSeconds(5));
        }
    }

    /**
     * A peer that never reads must not make the proxies buffer without bound: the sender is blocked
     * by TCP flow control once the kernel buffers are full, and what the proxies hold stays about one
     * read per direction.
     */
    @SuppressWarnings("try") // the socket is closed early on purpose, to stop the blocked sender
    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void memoryStaysBoundedWhenThePeerDoesNotRead(TlsProvider provider) throws Exception {
        try (EchoServer stalled = new EchoServer(EchoServer.Mode.NO_READ);
                TlsProxy server = Proxies.start(dir, Proxies.serverConf(pki, stalled.port(), ""), provider);
                TlsProxy client = Proxies.start(dir, Proxies.clientConf(pki, server.service("srv").port(), ""), provider);
                Socket s = Proxies.connect(client.service("cli").port())) {
            AtomicLong written = new AtomicLong();
            long attempt = 512L * 1024 * 1024;
            CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> {
                byte[] chunk = new byte[64 * 1024];
                try {
                    OutputStream out = s.getOutputStream();
                    while (written.get() < attempt) {
                        out.write(chunk);
                        written.addAndGet(chunk.length);
                    }
                } catch (IOException e) {
                    // the socket is closed at the end of the test
                }
            });
            long maxBuffered = 0;
            long lastWritten = -1;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            int stableRounds = 0;
            // Watch until the sender has been stuck for a second: everything it could push is in place.
            while (stableRounds < 10 && System.nanoTime() < deadline) {
                Thread.sleep(100);
                maxBuffered = Math.max(maxBuffered, client.bufferedBytes() + server.bufferedBytes());
                long w = written.get();
                stableRounds = w == lastWritten ? stableRounds + 1 : 0;
                lastWritten = w;
            }
            assertEquals(10, stableRounds, "the sender was never blocked; wrote " + written.get());
            assertTrue(written.get() < 64L * 1024 * 1024, "sender pushed " + written.get() + " bytes into a stalled path");
            assertTrue(maxBuffered <= 512 * 1024, "proxies held " + maxBuffered + " bytes in output buffers");
            s.close(); // unblocks the sender's write with an error
            sender.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void reloadMakesNewConnectionsUseTheNewCertificateWhileOpenOnesContinue() throws Exception {
        Path certDir = Files.createDirectories(dir.resolve("reload"));
        Path cert = certDir.resolve("server.pem");
        Path key = certDir.resolve("server.key");
        TestPki.replace(pki.server, cert, key);
        String conf = "[srv]\naccept = 127.0.0.1:0\n"
                + "connect = 127.0.0.1:%d\ncert = " + cert + "\nkey = " + key + "\n";
        TlsPolicy clientPolicy = TlsPolicy.builder().provider(TlsProvider.JDK).trustedCertificates(pki.caFile)
                .expectedHostName(TestPki.FS_ID).build();
        try (EchoServer echo = new EchoServer();
                TlsProxy server = Proxies.start(dir, conf.formatted(echo.port()), TlsProvider.OPENSSL);
                SSLSocket first = (SSLSocket) TlsContexts.socketFactory(clientPolicy)
                        .createSocket("127.0.0.1", server.service("srv").port())) {
            assertEquals(serial(pki.server), peerSerial(first));
            assertEchoes(first, 1);

            IssuedCertificate renewed = pki.newServer("renewed");
            TestPki.replace(renewed, cert, key);
            ReloadOutcome outcome = server.reload();
            assertTrue(outcome.succeeded(), outcome.toString());
            assertEquals(1, server.status().service("srv").reloads());

            try (SSLSocket second = (SSLSocket) TlsContexts.socketFactory(clientPolicy)
                    .createSocket("127.0.0.1", server.service("srv").port())) {
                assertEquals(serial(renewed), peerSerial(second));
                assertEchoes(second, 2);
            }
            assertEchoes(first, 3); // the connection opened before the reload still works

            Files.writeString(key, "garbage\n");
            ReloadOutcome broken = server.reload();
            assertEquals(1, broken.failures().size(), broken.toString());
            assertTrue(broken.failures().get(0).contains("srv"), broken.toString());
            try (SSLSocket third = (SSLSocket) TlsContexts.socketFactory(clientPolicy)
                    .createSocket("127.0.0.1", server.service("srv").port())) {
                assertEquals(serial(renewed), peerSerial(third), "a failed reload keeps the previous certificate");
            }
            assertTrue(server.status().service("srv").lastReloadError().isPresent());
        }
    }

    private static BigInteger serial(IssuedCertificate c) {
        return c.certificate().getSerialNumber();
    }

    private static BigInteger peerSerial(SSLSocket s) throws IOException {
        s.startHandshake();
        return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
    }

    private static void assertEchoes(Socket s, int value) throws IOException {
        s.getOutputStream().write(value);
        s.getOutputStream().flush();
        assertEquals(value, s.getInputStream().read());
    }

    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void mutualTlsIdentifiesTheClientAndRefusesOneWithoutCertificate(TlsProvider provider) throws Exception {
        String verifyClients = "CAfile = " + pki.caFile + "\nverify = 2\n";
        String clientCert = "cert = " + pki.client.certificateFile() + "\nkey = " + pki.client.keyFile() + "\n";
        try (LogCapture log = new LogCapture("io.coffer.tls.proxy");
                EchoServer echo = new EchoServer();
                TlsProxy server = Proxies.start(dir, Proxies.serverConf(pki, echo.port(), verifyClients), provider);
                TlsProxy withCert = Proxies.start(dir, Proxies.clientConf(pki, server.service("srv").port(), clientCert),
                        provider);
                TlsProxy without = Proxies.start(dir, Proxies.clientConf(pki, server.service("srv").port(), ""), provider)) {
            byte[] data = Proxies.randomBytes(100_000, 5);
            assertArrayEquals(data, Proxies.exchange(withCert.service("cli").port(), data));
            assertTrue(server.status().service("srv").lastPeer().orElseThrow().contains("CN=client1"),
                    server.status().toJson());
            try (Socket s = Proxies.connect(without.service("cli").port())) {
                s.getOutputStream().write(1);
                InputStream in = s.getInputStream();
                assertThrowsOrEof(in);
            }
            log.await(l -> l.contains("[srv] TLS handshake with") && l.contains("failed"), Duration.ofSeconds(10));
            assertTrue(server.status().service("srv").connectionsFailed() >= 1);
        }
    }

    /** A refused tunnel is closed: the plaintext client reads EOF, or a reset. */
    static void assertThrowsOrEof(InputStream in) {
        try {
            assertEquals(-1, in.read(), "expected the tunnel to be closed");
        } catch (IOException e) {
            // connection reset: refused as well
        }
    }

    @Test
    void nioTransportWorksWhenEpollIsNotUsed() throws Exception {
        System.setProperty("coffer.proxy.transport", "nio");
        try (EchoServer echo = new EchoServer();
                TlsProxy server = Proxies.start(dir, Proxies.serverConf(pki, echo.port(), ""), TlsProvider.OPENSSL);
                TlsProxy client = Proxies.start(dir, Proxies.clientConf(pki, server.service("srv").port(), ""),
                        TlsProvider.JDK)) {
            assertEquals("nio", server.transport());
            byte[] data = Proxies.randomBytes(500_000, 9);
            assertArrayEquals(data, Proxies.exchange(client.service("cli").port(), data));
        } finally {
            System.clearProperty("coffer.proxy.transport");
        }
        try (TlsProxy epoll = Proxies.start(dir, Proxies.serverConf(pki, 9, ""), TlsProvider.JDK)) {
            assertEquals(io.netty.channel.epoll.Epoll.isAvailable() ? "epoll" : "nio", epoll.transport());
        }
    }

    @Test
    void statusJsonCarriesCountersAndTheNegotiatedTls() throws Exception {
        try (EchoServer echo = new EchoServer();
                TlsProxy server = Proxies.start(dir, Proxies.serverConf(pki, echo.port(), ""), TlsProvider.OPENSSL);
                TlsProxy client = Proxies.start(dir, Proxies.clientConf(pki, server.service("srv").port(),
                        "sslVersion = TLSv1.2\nciphers = ECDHE-ECDSA-CHACHA20-POLY1305\n"), TlsProvider.JDK)) {
            byte[] data = Proxies.randomBytes(12_345, 10);
            assertArrayEquals(data, Proxies.exchange(client.service("cli").port(), data));
            String json = client.status().toJson();
            assertTrue(json.contains("\"bytesIn\":12345"), json);
            assertTrue(json.contains("\"bytesOut\":12345"), json);
            assertTrue(json.contains("\"tlsVersion\":\"TLSv1.2\""), json);
            assertTrue(json.contains("\"cipherSuite\":\"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\""), json);
            assertTrue(json.contains("\"connectionsTotal\":1"), json);
            assertTrue(json.contains("\"mode\":\"client\""), json);
        }
    }

    @Test
    void unreachableConnectTargetClosesTheClientAndCountsAFailure() throws Exception {
        int deadPort;
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            deadPort = ss.getLocalPort();
        }
        try (TlsProxy client = Proxies.start(dir, Proxies.clientConf(pki, deadPort, ""), TlsProvider.JDK);
                Socket s = Proxies.connect(client.service("cli").port())) {
            assertThrowsOrEof(s.getInputStream());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (client.status().service("cli").connectionsFailed() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(1, client.status().service("cli").connectionsFailed());
        }
        assertNotEquals(0, deadPort);
        assertThrows(IllegalArgumentException.class, () -> TlsProvider.parse("boringssl"));
    }
}
