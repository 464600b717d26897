package io.coffer.tls.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.tls.EchoServer;
import io.coffer.tls.ExternalTools;
import io.coffer.tls.IssuedCertificate;
import io.coffer.tls.LogCapture;
import io.coffer.tls.TestPki;
import io.coffer.tls.TlsContexts;
import io.coffer.tls.TlsPolicy;
import io.coffer.tls.TlsProvider;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What must be refused, with a clear error on the client side and a log line on the server side:
 * old protocol versions, weak suites, untrusted, expired or misnamed server certificates, missing or
 * unknown client certificates. OpenSSL's s_client plays the misbehaving client.
 */
class TlsRefusalTest {
    @TempDir
    static Path dir;
    static TestPki pki;

    @BeforeAll
    static void setUp() throws Exception {
        ExternalTools.openssl();
        pki = new TestPki(dir);
    }

    static ExternalTools.Result sClient(int port, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ExternalTools.openssl(), "s_client", "-connect", "127.0.0.1:" + port,
                "-CAfile", pki.caFile.toString(), "-verify_return_error"));
        cmd.addAll(List.of(extra));
        return ExternalTools.run(cmd, "PING\n".getBytes(), Duration.ofSeconds(20));
    }

    static void assertRefused(ExternalTools.Result r, String clientPattern) {
        assertNotEquals(0, r.exitCode(), "s_client should fail:\n" + r.output());
        assertTrue(Pattern.compile(clientPattern, Pattern.CASE_INSENSITIVE).matcher(r.output()).find(),
                "client output does not match /" + clientPattern + "/:\n" + r.output());
    }

    static String awaitServerLine(LogCapture log) throws InterruptedException {
        return log.await(l -> l.contains("[srv] TLS handshake with") && l.contains("failed"), Duration.ofSeconds(10));
    }

    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void refusesTls11Clients(TlsProvider provider) throws Exception {
        try (LogCapture log = new LogCapture("io.coffer.tls.proxy");
                EchoServer echo = new EchoServer();
                TlsProxy server = Proxies.start(dir, Proxies.serverConf(pki, echo.port(), ""), provider)) {
            // SECLEVEL=0: OpenSSL 3 would not even offer TLS 1.1 otherwise, and the point is that we refuse it.
            ExternalTools.Result r = sClient(server.service("srv").port(), "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0");
            assertRefused(r, "protocol version|unsupported protocol|wrong version|handshake failure");
            String line = awaitServerLine(log);
            assertTrue(Pattern.compile("protocol|version|no cipher|shared", Pattern.CASE_INSENSITIVE).matcher(line).find(),
                    line);
            assertEquals(0, echo.accepted(), "a refused client never reaches the backend");
        }
    }

    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void refusesNonAeadAndNonForwardSecretSuites(TlsProvider provider) throws Exception {
        try (LogCapture log = new LogCapture("io.coffer.tls.proxy");
                EchoServer echo = new EchoServer();
                TlsProxy server = Proxies.start(dir, Proxies.serverConf(pki, echo.port(), ""), provider)) {
            for (String suite : List.of("AES128-SHA256", "AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA256")) {
                ExternalTools.Result r = sClient(server.service("srv").port(), "-tls1_2", "-cipher", suite);
                assertRefused(r, "handshake failure|no shared cipher|no ciphers|insufficient security");
            }
            awaitServerLine(log);
            assertEquals(0, echo.accepted());
        }
    }

    /** s_client's "R" command asks for a TLS 1.2 renegotiation; every provider must refuse it. */
    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void refusesClientInitiatedRenegotiation(TlsProvider provider) throws Exception {
        try (EchoServer echo = new EchoServer();
                TlsProxy server = Proxies.start(dir, Proxies.serverConf(pki, echo.port(), ""), provider)) {
            ExternalTools.Result r = ExternalTools.run(List.of(ExternalTools.openssl(), "s_client", "-connect",
                    "127.0.0.1:" + server.service("srv").port(), "-CAfile", pki.caFile.toString(), "-tls1_2"),
                    "R\n".getBytes(), Duration.ofMillis(1500), Duration.ofSeconds(20));
            assertTrue(r.output().contains("RENEGOTIATING"), r.output());
            assertTrue(Pattern.compile("alert (no renegotiation|handshake failure)").matcher(r.output()).find(),
                    "renegotiation was not refused:\n" + r.output());
        }
    }

    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void acceptsAStrongOpenSslClient(TlsProvider provider) throws Exception {
        try (EchoServer echo = new EchoServer();
                TlsProxy server = Proxies.start(dir, Proxies.serverConf(pki, echo.port(), ""), provider)) {
            ExternalTools.Result r = sClient(server.service("srv").port(), "-verify_hostname", TestPki.FS_ID);
            assertEquals(0, r.exitCode(), r.output());
            assertTrue(r.output().contains("Verify return code: 0 (ok)"), r.output());
            assertTrue(r.output().contains("TLSv1.3"), r.output());
        }
    }

    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void requiredClientCertificateMustBePresentAndKnown(TlsProvider provider) throws Exception {
        String mtls = "CAfile = " + pki.caFile + "\nverify = 2\n";
        try (LogCapture log = new LogCapture("io.coffer.tls.proxy");
                EchoServer echo = new EchoServer();
                TlsProxy server = Proxies.start(dir, Proxies.serverConf(pki, echo.port(), mtls), provider)) {
            int port = server.service("srv").port();
            assertRefused(sClient(port, "-tls1_2"), "handshake failure|certificate required|alert");
            awaitServerLine(log);
            assertRefused(sClient(port, "-tls1_2", "-cert", pki.otherClient.certificateFile().toString(), "-key",
                    pki.otherClient.keyFile().toString()), "unknown ca|bad certificate|certificate unknown|alert");
            log.await(l -> l.contains("failed") && l.contains("not trusted"), Duration.ofSeconds(10));
            ExternalTools.Result ok = sClient(port, "-tls1_2", "-cert", pki.client.certificateFile().toString(),
                    "-key", pki.client.keyFile().toString());
            assertEquals(0, ok.exitCode(), ok.output());
            assertTrue(ok.output().contains("Verify return code: 0 (ok)"), ok.output());
        }
    }

    /** Our client-mode proxy refuses bad servers: the tunnel closes and the proxy logs why. */
    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void clientModeRefusesUntrustedExpiredOrMisnamedServers(TlsProvider provider) throws Exception {
        record Case(IssuedCertificate cert, String checkHost, String reason) {}
        List<Case> cases = List.of(
                new Case(pki.otherServer, TestPki.FS_ID, "not trusted"),
                new Case(pki.expiredServer, "localhost", "expired|validity|NotAfter"),
                new Case(pki.server, "fs-99999999", "does not match the expected name 'fs-99999999'"));
        for (Case c : cases) {
            String serverConf = "[srv]\naccept = 127.0.0.1:0\nconnect = 127.0.0.1:9\ncert = "
                    + c.cert().certificateFile() + "\nkey = " + c.cert().keyFile() + "\n";
            try (LogCapture log = new LogCapture("io.coffer.tls.proxy");
                    TlsProxy server = Proxies.start(dir, serverConf, TlsProvider.JDK);
                    TlsProxy client = Proxies.start(dir, Proxies.clientConf(pki, server.service("srv").port(), "")
                            .replace("checkHost = " + TestPki.FS_ID, "checkHost = " + c.checkHost()), provider);
                    Socket s = Proxies.connect(client.service("cli").port())) {
                s.getOutputStream().write(1);
                TlsProxyTest.assertThrowsOrEof(s.getInputStream());
                String line = log.await(l -> l.contains("[cli] TLS handshake with") && l.contains("failed"),
                        Duration.ofSeconds(10));
                assertTrue(Pattern.compile(c.reason()).matcher(line).find(), c.reason() + " not in: " + line);
                log.await(l -> l.contains("[srv] TLS handshake with") && l.contains("failed"), Duration.ofSeconds(10));
            }
        }
    }

    /** The API a blocking client uses gives the same clear reasons. */
    @Test
    void jdkSocketFactoryRefusesBadServersWithClearMessages() throws Exception {
        try (TlsProxy other = Proxies.start(dir, "[srv]\naccept = 127.0.0.1:0\nconnect = 127.0.0.1:9\ncert = "
                        + pki.otherServer.certificateFile() + "\nkey = " + pki.otherServer.keyFile() + "\n", TlsProvider.JDK);
                TlsProxy good = Proxies.start(dir, Proxies.serverConf(pki, 9, ""), TlsProvider.JDK)) {
            TlsPolicy trusting = TlsPolicy.builder().provider(TlsProvider.JDK).trustedCertificates(pki.caFile).build();
            SSLHandshakeException e1 = assertThrows(SSLHandshakeException.class, () -> handshake(
                    trusting.toBuilder().expectedHostName(TestPki.FS_ID).build(), other.service("srv").port()));
            assertTrue(e1.getMessage().contains("not trusted"), e1.getMessage());
            SSLHandshakeException e2 = assertThrows(SSLHandshakeException.class, () -> handshake(
                    trusting.toBuilder().expectedHostName("fs-00000000").build(), good.service("srv").port()));
            assertTrue(e2.getMessage().contains("does not match the expected name 'fs-00000000'"), e2.getMessage());
            // No expected name: the host dialled (127.0.0.1, an IP SAN of the server) must match.
            handshake(trusting, good.service("srv").port());
            SSLHandshakeException e3 = assertThrows(SSLHandshakeException.class, () -> handshake(
                    trusting.toBuilder().protocol(io.coffer.tls.TlsProtocol.TLS_1_2)
                            .cipherSuites(List.of("ECDHE-RSA-AES128-GCM-SHA256")).build(), good.service("srv").port()));
            assertTrue(e3.getMessage().toLowerCase().contains("handshake") || e3.getMessage().contains("cipher"),
                    e3.getMessage());
        }
    }

    private static void handshake(TlsPolicy p, int port) throws Exception {
        try (SSLSocket s = (SSLSocket) TlsContexts.socketFactory(p).createSocket("127.0.0.1", port)) {
            s.startHandshake();
        }
    }
}
