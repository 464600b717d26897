package io.coffer.cli;

import io.coffer.client.RpcClient;
import io.coffer.core.status.InvalException;
import io.coffer.tls.PeerVerification;
import io.coffer.tls.TlsContexts;
import io.coffer.tls.TlsPolicy;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Builds the TLS of clients (mount daemons with proxy=none, administrative commands) from the stunnel-proxy module's policy. */
final class TlsSupport {
    /** Used when no CA file is given: where {@code coffer install} and the demo put the CA. */
    static final Path DEFAULT_CA = Path.of("/etc/coffer/ca.pem");

    private TlsSupport() {
    }

    static boolean isIpLiteral(String s) {
        return s.matches("[0-9.]+") || s.contains(":");
    }

    /**
     * @param expectedName the name the server's certificate must carry (a DNS name or an IP address)
     * @param verify 0 (accept any certificate: only for tests, loudly), or 1–2 (verify chain and name)
     */
    static RpcClient.ChannelCustomizer clientCustomizer(Path ca, Path cert, Path key, String expectedName, String host,
            int port, int verify) throws IOException {
        return clientCustomizer(ca, cert, key, expectedName, host, port, verify, null);
    }

    /** @param provider jdk, conscrypt or openssl; null for the measured default (docs/adr/0003-tls-provider.md) */
    static RpcClient.ChannelCustomizer clientCustomizer(Path ca, Path cert, Path key, String expectedName, String host,
            int port, int verify, String provider) throws IOException {
        TlsPolicy.Builder b = TlsPolicy.builder();
        if (provider != null) {
            b.provider(switch (provider) {
                case "jdk" -> io.coffer.tls.TlsProvider.JDK;
                case "conscrypt" -> io.coffer.tls.TlsProvider.CONSCRYPT;
                case "openssl" -> io.coffer.tls.TlsProvider.OPENSSL;
                default -> throw new InvalException("tlsprovider must be jdk, conscrypt or openssl, not " + provider);
            });
        }
        Path caFile = ca != null ? ca : Files.exists(DEFAULT_CA) ? DEFAULT_CA : null;
        if (verify == 0) {
            System.err.println("coffer: WARNING: verify=0: the server's certificate is not checked; anyone on the path can read the data");
            b.peerVerification(PeerVerification.NONE).allowUnverifiedPeer(true);
        } else {
            if (caFile == null) {
                throw new InvalException("TLS needs the CA that signed the server's certificate: give cafile=FILE (or install it as " + DEFAULT_CA + ")");
            }
            b.trustedCertificates(caFile).peerVerification(PeerVerification.CHAIN);
            if (isIpLiteral(expectedName)) {
                b.expectedIpAddresses(List.of(InetAddress.getByName(expectedName).getHostAddress()));
            } else {
                b.expectedHostName(expectedName);
            }
        }
        if (cert != null) {
            b.keyPair(cert, key);
        }
        TlsPolicy policy;
        SslContext context;
        try {
            policy = b.build();
            context = TlsContexts.client(policy);
        } catch (IllegalArgumentException | io.coffer.tls.TlsSetupException e) {
            throw new InvalException("TLS settings: " + e.getMessage());
        }
        return ch -> ch.pipeline().addFirst("tls", TlsContexts.newClientHandler(context, policy, ch.alloc(), host, port));
    }

    static RpcClient.ChannelCustomizer clientCustomizer(Path ca, Path cert, Path key, String expectedName, String host,
            int port) throws IOException {
        return clientCustomizer(ca, cert, key, expectedName, host, port, 2);
    }
}
