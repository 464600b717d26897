package io.coffer.tls.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.tls.EchoServer;
import io.coffer.tls.ExternalTools;
import io.coffer.tls.TestPki;
import io.coffer.tls.TlsProvider;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Debian's stunnel4 as the peer, in both directions, with a plaintext echo server at the far end. */
class StunnelInteropTest {
    private static final long SIXTY_FOUR_MIB = 64L * 1024 * 1024;

    @TempDir
    static Path dir;
    static TestPki pki;

    @BeforeAll
    static void setUp() throws Exception {
        ExternalTools.stunnel(); // fails with the package name if missing
        pki = new TestPki(dir);
    }

    static int freePort() throws Exception {
        // stunnel cannot report a port it chose, so pick one; the window for a clash is tiny on loopback.
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            return s.getLocalPort();
        }
    }

    @Test
    void ourClientModeToStunnelServerMode() throws Exception {
        int stunnelPort = freePort();
        Path conf = dir.resolve("stunnel-server.conf");
        Files.writeString(conf, "foreground = yes\npid =\ndebug = 5\n"
                + "[srv]\n"
                + "accept = 127.0.0.1:" + stunnelPort + "\n"
                + "connect = 127.0.0.1:%d\n"
                + "cert = " + pki.server.certificateFile() + "\n"
                + "key = " + pki.server.keyFile() + "\n"
                + "sslVersionMin = TLSv1.2\n");
        try (EchoServer echo = new EchoServer()) {
            Files.writeString(conf, Files.readString(conf).formatted(echo.port()));
            try (ExternalTools.Stunnel stunnel = ExternalTools.Stunnel.start(conf, Duration.ofSeconds(20));
                    TlsProxy client = Proxies.start(dir, Proxies.clientConf(pki, stunnelPort, ""),
                            TlsProvider.defaultProvider())) {
                int port = client.service("cli").port();
                String[] sums = Proxies.streamChecksum(port, SIXTY_FOUR_MIB, false);
                assertEquals(Long.toString(SIXTY_FOUR_MIB), sums[2], "bytes echoed");
                assertEquals(sums[0], sums[1], "SHA-256 of what was sent and what came back");
                // Half-close across stunnel: our FIN reaches the echo server, whose FIN comes back. The
                // client reads the reply before half-closing: a FIN that overtakes the reply makes
                // stunnel drop what it still holds (docs/proxy.md, "Known gap — half-close and stunnel").
                byte[] small = Proxies.randomBytes(200_000, 3);
                byte[] back = Proxies.roundTripThenHalfClose(port, small);
                assertArrayEquals(small, back, () -> "stunnel's log:\n" + stunnel.log());
                ServiceStatus st = client.status().service("cli");
                assertEquals(SIXTY_FOUR_MIB + small.length, st.bytesIn());
                assertEquals("TLSv1.3", st.lastProtocol().orElseThrow());
                assertTrue(stunnel.log().contains("accepted connection"), stunnel.log());
            }
        }
    }

    @Test
    void stunnelClientModeToOurServerMode() throws Exception {
        try (EchoServer echo = new EchoServer();
                TlsProxy server = Proxies.start(dir, Proxies.serverConf(pki, echo.port(), ""),
                        TlsProvider.defaultProvider())) {
            int stunnelPort = freePort();
            Path conf = dir.resolve("stunnel-client.conf");
            Files.writeString(conf, "foreground = yes\npid =\ndebug = 5\n"
                    + "[cli]\n"
                    + "client = yes\n"
                    + "accept = 127.0.0.1:" + stunnelPort + "\n"
                    + "connect = 127.0.0.1:" + server.service("srv").port() + "\n"
                    + "CAfile = " + pki.caFile + "\n"
                    + "verifyChain = yes\n"
                    + "checkHost = " + TestPki.FS_ID + "\n"
                    + "sslVersionMin = TLSv1.2\n");
            try (ExternalTools.Stunnel stunnel = ExternalTools.Stunnel.start(conf, Duration.ofSeconds(20))) {
                String[] sums = Proxies.streamChecksum(stunnelPort, SIXTY_FOUR_MIB, false);
                assertTrue(stunnel.log().contains("Configuration successful"), stunnel.log());
                assertEquals(Long.toString(SIXTY_FOUR_MIB), sums[2], "bytes echoed");
                assertEquals(sums[0], sums[1], "SHA-256 of what was sent and what came back");
                ServiceStatus st = server.status().service("srv");
                assertEquals(SIXTY_FOUR_MIB, st.bytesIn());
                assertEquals(SIXTY_FOUR_MIB, st.bytesOut());
                assertEquals("TLSv1.3", st.lastProtocol().orElseThrow());
            }
        }
    }
}
