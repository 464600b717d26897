package io.coffer.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The public API as the file server (Netty listener, mutual TLS) and blocking clients use it. */
class TlsContextsTest {
    @TempDir
    static Path dir;
    static TestPki pki;

    @BeforeAll
    static void setUp() throws Exception {
        pki = new TestPki(dir);
    }

    /** A file-server-like listener: TLS with required client certificates, replying with the peer identity. */
    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void serverListenerAuthenticatesClientsAndExposesTheirIdentity(TlsProvider provider) throws Exception {
        TlsPolicy serverPolicy = TlsPolicy.builder().provider(provider)
                .keyPair(pki.server.certificateFile(), pki.server.keyFile())
                .trustedCertificates(pki.caFile).clientAuthentication(ClientAuthentication.REQUIRED).build();
        SslContext ctx = TlsContexts.server(serverPolicy);
        CompletableFuture<PeerIdentity> seen = new CompletableFuture<>();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            Channel listener = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            SslHandler ssl = TlsContexts.newServerHandler(ctx, serverPolicy, ch.alloc());
                            ch.pipeline().addLast(ssl, new ChannelInboundHandlerAdapter() {
                                @Override
                                public void userEventTriggered(ChannelHandlerContext c, Object evt) {
                                    if (evt instanceof SslHandshakeCompletionEvent
                                            && ((SslHandshakeCompletionEvent) evt).isSuccess()) {
                                        PeerIdentity id = PeerIdentity.of(ssl).orElseThrow();
                                        seen.complete(id);
                                        c.writeAndFlush(c.alloc().buffer().writeBytes(
                                                (id.commonName().orElse("?") + "\n").getBytes(StandardCharsets.UTF_8)));
                                    }
                                }
                            });
                        }
                    }).bind("127.0.0.1", 0).sync().channel();
            int port = ((InetSocketAddress) listener.localAddress()).getPort();
            TlsPolicy clientPolicy = TlsPolicy.builder().provider(TlsProvider.JDK).trustedCertificates(pki.caFile)
                    .keyPair(pki.client.certificateFile(), pki.client.keyFile()).expectedHostName(TestPki.FS_ID).build();
            try (SSLSocket s = (SSLSocket) TlsContexts.socketFactory(clientPolicy).createSocket("127.0.0.1", port)) {
                InputStream in = s.getInputStream();
                byte[] line = new byte[8];
                int n = in.read(line);
                assertEquals("client1\n", new String(line, 0, n, StandardCharsets.UTF_8));
            }
            PeerIdentity id = seen.get(10, TimeUnit.SECONDS);
            assertEquals(List.of("client1"), id.dnsNames());
            assertEquals(PeerIdentity.fingerprint(pki.client.certificate()), id.sha256Fingerprint());
            assertTrue(id.hasFingerprint(id.sha256Fingerprint().toUpperCase()));
            assertEquals("TLSv1.3", id.protocol());
            assertTrue(CipherSuites.TLS13.contains(id.cipherSuite()), id.cipherSuite());
            listener.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void policyBuilderRefusesWeakOrInconsistentSettings() {
        assertThrows(IllegalArgumentException.class, () -> TlsProtocol.parse("TLSv1.1"));
        assertThrows(IllegalArgumentException.class,
                () -> TlsPolicy.builder().cipherSuites(List.of("TLS_RSA_WITH_AES_128_GCM_SHA256")));
        assertThrows(IllegalArgumentException.class,
                () -> TlsPolicy.builder().cipherSuites(List.of("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256")));
        IllegalArgumentException noCa = assertThrows(IllegalArgumentException.class, () -> TlsPolicy.builder().build());
        assertTrue(noCa.getMessage().contains("trusted certificates"), noCa.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TlsPolicy.builder().trustedCertificates(pki.caFile)
                .minProtocol(TlsProtocol.TLS_1_3).maxProtocol(TlsProtocol.TLS_1_2).build());
        assertThrows(IllegalArgumentException.class, () -> TlsPolicy.builder().trustedCertificates(pki.caFile)
                .protocol(TlsProtocol.TLS_1_2).cipherSuites(List.of(CipherSuites.TLS_AES_128_GCM_SHA256)).build());
        assertThrows(IllegalArgumentException.class, () -> TlsPolicy.builder().expectedHostName("10.0.0.1"));
        TlsPolicy p = TlsPolicy.builder().trustedCertificates(pki.caFile)
                .cipherSuites(List.of("ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_AES_128_GCM_SHA256")).build();
        assertEquals(List.of("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"), p.cipherSuites());
        assertEquals(List.of("TLSv1.3", "TLSv1.2"), p.protocols());
    }

    @Test
    void contextBuildingNamesTheFaultyFileOrSetting() throws Exception {
        TlsPolicy noCert = TlsPolicy.builder().trustedCertificates(pki.caFile).build();
        assertTrue(assertThrows(TlsSetupException.class, () -> TlsContexts.server(noCert)).getMessage()
                .contains("certificate and private key"));
        TlsPolicy mismatched = TlsPolicy.builder().trustedCertificates(pki.caFile)
                .keyPair(pki.server.certificateFile(), pki.client.keyFile()).build();
        assertTrue(assertThrows(TlsSetupException.class, () -> TlsContexts.server(mismatched)).getMessage()
                .contains("does not belong to the certificate"));
        Path missing = dir.resolve("missing.pem");
        TlsPolicy noFile = TlsPolicy.builder().trustedCertificates(missing).build();
        assertTrue(assertThrows(TlsSetupException.class, () -> TlsContexts.client(noFile)).getMessage()
                .contains("missing.pem"));
        TlsPolicy trustAll = TlsPolicy.builder().peerVerification(PeerVerification.NONE).build();
        assertTrue(assertThrows(TlsSetupException.class, () -> TlsContexts.client(trustAll)).getMessage()
                .contains("explicit opt-in"));
        TlsContexts.client(trustAll.toBuilder().allowUnverifiedPeer(true).build());
        Path garbage = Files.writeString(dir.resolve("garbage.pem"), "not pem\n");
        assertTrue(assertThrows(TlsSetupException.class, () -> TlsContexts.client(TlsPolicy.builder()
                .trustedCertificates(garbage).build())).getMessage().contains("garbage.pem"));
    }

    /** BoringSSL always enables its three TLS 1.3 suites; asking to restrict them is refused up front. */
    @Test
    void boringSslProvidersRefuseToRestrictTls13Suites() throws Exception {
        for (TlsProvider p : List.of(TlsProvider.CONSCRYPT, TlsProvider.OPENSSL)) {
            TlsPolicy one = TlsPolicy.builder().provider(p).trustedCertificates(pki.caFile)
                    .cipherSuites(List.of(CipherSuites.TLS_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384")).build();
            TlsSetupException e = assertThrows(TlsSetupException.class, () -> TlsContexts.client(one));
            assertTrue(e.getMessage().contains("cannot restrict"), e.getMessage());
            // TLS 1.3 only, all suites: fine on every provider.
            TlsContexts.client(TlsPolicy.builder().provider(p).trustedCertificates(pki.caFile)
                    .minProtocol(TlsProtocol.TLS_1_3).cipherSuites(CipherSuites.TLS13).build());
        }
        TlsContexts.client(TlsPolicy.builder().provider(TlsProvider.JDK).trustedCertificates(pki.caFile)
                .cipherSuites(List.of(CipherSuites.TLS_AES_256_GCM_SHA384)).minProtocol(TlsProtocol.TLS_1_3).build());
    }

    @Test
    void hostnameMatchingFollowsRfc6125() {
        assertTrue(HostnameMatcher.dnsMatches("*.example.com", "a.example.com"));
        assertTrue(!HostnameMatcher.dnsMatches("*.example.com", "a.b.example.com"));
        assertTrue(!HostnameMatcher.dnsMatches("*.example.com", "example.com"));
        assertTrue(!HostnameMatcher.dnsMatches("*.com", "example.com"));
        assertTrue(HostnameMatcher.dnsMatches("fs-1a2b3c4d", "fs-1a2b3c4d"));
        assertTrue(HostnameMatcher.isIpLiteral("::1"));
        assertTrue(HostnameMatcher.isIpLiteral("[fe80::1]"));
        assertTrue(!HostnameMatcher.isIpLiteral("fs-1a2b3c4d"));
    }
}
