package io.coffer.tls;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a TLS endpoint accepts: versions, suites, its own certificate, whom it trusts and how strictly
 * it checks the peer. Immutable; build one with {@link #builder()}. The same policy serves the client
 * and the server role ({@link TlsContexts#client(TlsPolicy)}, {@link TlsContexts#server(TlsPolicy)}).
 *
 * <p>Defaults are strict: TLS 1.2 to 1.3 (1.3 preferred), only the AEAD + forward-secret suites of
 * {@link CipherSuites}, the peer's chain verified against {@link Builder#trustedCertificates(Path)},
 * and in the client role the server's name checked (against {@link Builder#expectedHostNames} or, if
 * none are given, the host the connection was made to). Renegotiation and compression are never
 * offered: no provider here implements TLS compression, TLS 1.3 has no renegotiation, and TLS 1.2
 * renegotiation is refused (see {@link TlsContexts}).
 *
 * <p>Files are named here, not read: {@link TlsContexts} reads them each time it builds a context, so
 * building again after the files changed (the proxy does on SIGHUP) picks up new certificates.
 */
public final class TlsPolicy {
    private final TlsProvider provider;
    private final TlsProtocol minProtocol;
    private final TlsProtocol maxProtocol;
    private final List<String> cipherSuites;
    private final Path trustedCertificates;
    private final Path trustedCertificateDirectory;
    private final Path certificateChain;
    private final Path privateKey;
    private final PeerVerification peerVerification;
    private final ClientAuthentication clientAuthentication;
    private final List<String> expectedHostNames;
    private final List<String> expectedIpAddresses;
    private final boolean hostnameVerification;
    private final boolean allowUnverifiedPeer;
    private final String serverNameIndication;
    private final Duration handshakeTimeout;

    private TlsPolicy(Builder b) {
        this.provider = b.provider;
        this.minProtocol = b.minProtocol;
        this.maxProtocol = b.maxProtocol;
        this.cipherSuites = List.copyOf(b.cipherSuites);
        this.trustedCertificates = b.trustedCertificates;
        this.trustedCertificateDirectory = b.trustedCertificateDirectory;
        this.certificateChain = b.certificateChain;
        this.privateKey = b.privateKey != null ? b.privateKey : b.certificateChain;
        this.peerVerification = b.peerVerification;
        this.clientAuthentication = b.clientAuthentication;
        this.expectedHostNames = List.copyOf(b.expectedHostNames);
        this.expectedIpAddresses = List.copyOf(b.expectedIpAddresses);
        this.hostnameVerification = b.hostnameVerification;
        this.allowUnverifiedPeer = b.allowUnverifiedPeer;
        this.serverNameIndication = b.serverNameIndication;
        this.handshakeTimeout = b.handshakeTimeout;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this policy's settings, to derive a changed copy. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.provider = provider;
        b.minProtocol = minProtocol;
        b.maxProtocol = maxProtocol;
        b.cipherSuites = new ArrayList<>(cipherSuites);
        b.trustedCertificates = trustedCertificates;
        b.trustedCertificateDirectory = trustedCertificateDirectory;
        b.certificateChain = certificateChain;
        b.privateKey = privateKey;
        b.peerVerification = peerVerification;
        b.clientAuthentication = clientAuthentication;
        b.expectedHostNames = new ArrayList<>(expectedHostNames);
        b.expectedIpAddresses = new ArrayList<>(expectedIpAddresses);
        b.hostnameVerification = hostnameVerification;
        b.allowUnverifiedPeer = allowUnverifiedPeer;
        b.serverNameIndication = serverNameIndication;
        b.handshakeTimeout = handshakeTimeout;
        return b;
    }

    public TlsProvider provider() {
        return provider;
    }

    public TlsProtocol minProtocol() {
        return minProtocol;
    }

    public TlsProtocol maxProtocol() {
        return maxProtocol;
    }

    /** Enabled protocols, newest first, in JSSE names. */
    public List<String> protocols() {
        List<String> out = new ArrayList<>();
        for (int i = TlsProtocol.values().length - 1; i >= 0; i--) {
            TlsProtocol p = TlsProtocol.values()[i];
            if (p.compareTo(minProtocol) >= 0 && p.compareTo(maxProtocol) <= 0) {
                out.add(p.javaName());
            }
        }
        return out;
    }

    /** Enabled suites (IANA names), in preference order. */
    public List<String> cipherSuites() {
        return cipherSuites;
    }

    /** PEM file of trusted CA certificates (and, for pinning levels, trusted peer certificates). */
    public Optional<Path> trustedCertificates() {
        return Optional.ofNullable(trustedCertificates);
    }

    /** Directory of PEM files with more trusted certificates (stunnel's {@code CApath}). */
    public Optional<Path> trustedCertificateDirectory() {
        return Optional.ofNullable(trustedCertificateDirectory);
    }

    /** PEM file with this endpoint's certificate, followed by any intermediate certificates. */
    public Optional<Path> certificateChain() {
        return Optional.ofNullable(certificateChain);
    }

    /** PEM file with this endpoint's private key; defaults to the certificate file, as in stunnel. */
    public Optional<Path> privateKey() {
        return Optional.ofNullable(privateKey);
    }

    public PeerVerification peerVerification() {
        return peerVerification;
    }

    /** Server role only: whether clients are asked for a certificate. */
    public ClientAuthentication clientAuthentication() {
        return clientAuthentication;
    }

    /** Names (DNS) of which the peer certificate must carry at least one as a SAN; stunnel's {@code checkHost}. */
    public List<String> expectedHostNames() {
        return expectedHostNames;
    }

    /** IP addresses of which the peer certificate must carry at least one as a SAN; stunnel's {@code checkIP}. */
    public List<String> expectedIpAddresses() {
        return expectedIpAddresses;
    }

    /**
     * Client role: when no expected names are given, whether the server certificate must name the host
     * the connection was made to.
     */
    public boolean hostnameVerification() {
        return hostnameVerification;
    }

    /** Whether {@link PeerVerification#NONE} may be used in the client role (tests only). */
    public boolean allowUnverifiedPeer() {
        return allowUnverifiedPeer;
    }

    /** Client role: the SNI host name sent; defaults to the first expected host name. */
    public Optional<String> serverNameIndication() {
        if (serverNameIndication != null) {
            return Optional.of(serverNameIndication);
        }
        return expectedHostNames.isEmpty() ? Optional.empty() : Optional.of(expectedHostNames.get(0));
    }

    public Duration handshakeTimeout() {
        return handshakeTimeout;
    }

    /** Whether any certificate is trusted (a CA file or directory is set). */
    public boolean hasTrustedCertificates() {
        return trustedCertificates != null || trustedCertificateDirectory != null;
    }

    @Override
    public String toString() {
        return "TlsPolicy{provider=" + provider + ", protocols=" + protocols() + ", suites=" + cipherSuites
                + ", verify=" + peerVerification + ", clientAuth=" + clientAuthentication
                + ", cafile=" + trustedCertificates + ", capath=" + trustedCertificateDirectory
                + ", cert=" + certificateChain + ", key=" + privateKey
                + ", checkHost=" + expectedHostNames + ", checkIP=" + expectedIpAddresses
                + ", hostnameVerification=" + hostnameVerification + "}";
    }

    /** Validating builder; {@link #build()} throws {@link IllegalArgumentException} naming the fault. */
    public static final class Builder {
        private TlsProvider provider = TlsProvider.defaultProvider();
        private TlsProtocol minProtocol = TlsProtocol.TLS_1_2;
        private TlsProtocol maxProtocol = TlsProtocol.TLS_1_3;
        private List<String> cipherSuites = new ArrayList<>(CipherSuites.ALLOWED);
        private Path trustedCertificates;
        private Path trustedCertificateDirectory;
        private Path certificateChain;
        private Path privateKey;
        private PeerVerification peerVerification = PeerVerification.CHAIN;
        private ClientAuthentication clientAuthentication = ClientAuthentication.NONE;
        private List<String> expectedHostNames = new ArrayList<>();
        private List<String> expectedIpAddresses = new ArrayList<>();
        private boolean hostnameVerification = true;
        private boolean allowUnverifiedPeer;
        private String serverNameIndication;
        private Duration handshakeTimeout = Duration.ofSeconds(10);

        private Builder() {}

        public Builder provider(TlsProvider provider) {
            this.provider = Objects.requireNonNull(provider, "provider");
            return this;
        }

        public Builder minProtocol(TlsProtocol min) {
            this.minProtocol = Objects.requireNonNull(min, "minProtocol");
            return this;
        }

        public Builder maxProtocol(TlsProtocol max) {
            this.maxProtocol = Objects.requireNonNull(max, "maxProtocol");
            return this;
        }

        /** Exactly one protocol version. */
        public Builder protocol(TlsProtocol only) {
            return minProtocol(only).maxProtocol(only);
        }

        /**
         * The enabled suites in preference order, in IANA or OpenSSL spelling; each must be on the
         * {@link CipherSuites} allow-list.
         */
        public Builder cipherSuites(List<String> suites) {
            List<String> normalized = new ArrayList<>();
            for (String s : suites) {
                String n = CipherSuites.normalize(s);
                if (!normalized.contains(n)) {
                    normalized.add(n);
                }
            }
            this.cipherSuites = normalized;
            return this;
        }

        public Builder trustedCertificates(Path caFile) {
            this.trustedCertificates = caFile;
            return this;
        }

        public Builder trustedCertificateDirectory(Path caDirectory) {
            this.trustedCertificateDirectory = caDirectory;
            return this;
        }

        public Builder certificateChain(Path certificateFile) {
            this.certificateChain = certificateFile;
            return this;
        }

        public Builder privateKey(Path keyFile) {
            this.privateKey = keyFile;
            return this;
        }

        /** Own certificate chain and key. */
        public Builder keyPair(Path certificateFile, Path keyFile) {
            return certificateChain(certificateFile).privateKey(keyFile);
        }

        public Builder peerVerification(PeerVerification verification) {
            this.peerVerification = Objects.requireNonNull(verification, "peerVerification");
            return this;
        }

        public Builder clientAuthentication(ClientAuthentication clientAuthentication) {
            this.clientAuthentication = Objects.requireNonNull(clientAuthentication, "clientAuthentication");
            return this;
        }

        /** Adds names (DNS, e.g. {@code fs-1a2b3c4d} or {@code files.example.com}) the peer may carry. */
        public Builder expectedHostNames(List<String> names) {
            for (String n : names) {
                String t = n.trim();
                if (t.isEmpty() || t.contains(" ") || HostnameMatcher.isIpLiteral(t)) {
                    throw new IllegalArgumentException("not a host name: '" + n + "' (use expectedIpAddresses for IPs)");
                }
                if (!expectedHostNames.contains(t)) {
                    expectedHostNames.add(t);
                }
            }
            return this;
        }

        public Builder expectedHostName(String name) {
            return expectedHostNames(List.of(name));
        }

        /** Adds IP addresses the peer certificate may carry as IP SANs. */
        public Builder expectedIpAddresses(List<String> ips) {
            for (String ip : ips) {
                String canonical = HostnameMatcher.parseIpLiteral(ip).getHostAddress();
                if (!expectedIpAddresses.contains(canonical)) {
                    expectedIpAddresses.add(canonical);
                }
            }
            return this;
        }

        public Builder hostnameVerification(boolean on) {
            this.hostnameVerification = on;
            return this;
        }

        /** Permits {@link PeerVerification#NONE} in the client role. Tests only: it trusts any server. */
        public Builder allowUnverifiedPeer(boolean allow) {
            this.allowUnverifiedPeer = allow;
            return this;
        }

        public Builder serverNameIndication(String hostName) {
            this.serverNameIndication = hostName;
            return this;
        }

        public Builder handshakeTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("handshake timeout must be positive");
            }
            this.handshakeTimeout = timeout;
            return this;
        }

        public TlsPolicy build() {
            if (minProtocol.compareTo(maxProtocol) > 0) {
                throw new IllegalArgumentException("minimum TLS version " + minProtocol.javaName()
                        + " is above the maximum " + maxProtocol.javaName());
            }
            if (cipherSuites.isEmpty()) {
                throw new IllegalArgumentException("no cipher suites enabled");
            }
            boolean any13 = cipherSuites.stream().anyMatch(CipherSuites::isTls13);
            boolean any12 = cipherSuites.stream().anyMatch(s -> !CipherSuites.isTls13(s));
            if (maxProtocol == TlsProtocol.TLS_1_2 && !any12) {
                throw new IllegalArgumentException("TLSv1.2 only, but no TLSv1.2 cipher suite is enabled");
            }
            if (minProtocol == TlsProtocol.TLS_1_3 && !any13) {
                throw new IllegalArgumentException("TLSv1.3 only, but no TLSv1.3 cipher suite is enabled");
            }
            if (certificateChain == null && privateKey != null) {
                throw new IllegalArgumentException("a private key is set without its certificate");
            }
            if ((peerVerification.verifiesChain() || peerVerification.pinsPeer())
                    && trustedCertificates == null && trustedCertificateDirectory == null) {
                throw new IllegalArgumentException("verify level " + peerVerification.stunnelLevel() + " ("
                        + peerVerification + ") needs trusted certificates (CAfile or CApath)");
            }
            if (serverNameIndication != null && HostnameMatcher.isIpLiteral(serverNameIndication)) {
                throw new IllegalArgumentException("SNI must be a host name, not an IP: " + serverNameIndication);
            }
            // Remove duplicates while keeping order.
            cipherSuites = new ArrayList<>(new LinkedHashSet<>(cipherSuites));
            return new TlsPolicy(this);
        }
    }
}
