package io.coffer.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds TLS contexts from a {@link TlsPolicy}: Netty {@link SslContext}s for the proxy, the file
 * server's listener and the client's in-process TLS, and a JDK {@link SSLContext} /
 * {@link SSLSocketFactory} for blocking clients.
 *
 * <p>Every call reads the policy's files anew, so a caller that wants new certificates after they were
 * replaced on disk builds a new context (and keeps using the old one for existing connections).
 * Contexts are thread-safe and meant to be shared by all connections of one listener or client.
 *
 * <p>Renegotiation: TLS 1.3 has none; for TLS 1.2, Netty's OpenSSL engine refuses peer-initiated
 * renegotiation, BoringSSL (Conscrypt) does not implement it as a server, and for the JDK this
 * class sets {@code jdk.tls.rejectClientInitiatedRenegotiation=true} unless the application set it
 * first (the JDK reads it once, so it must be set before the first TLS handshake of the process).
 */
public final class TlsContexts {
    private static final Logger LOG = LoggerFactory.getLogger(TlsContexts.class);
    private static final String REJECT_RENEGOTIATION = "jdk.tls.rejectClientInitiatedRenegotiation";

    static {
        if (System.getProperty(REJECT_RENEGOTIATION) == null) {
            System.setProperty(REJECT_RENEGOTIATION, "true");
        }
    }

    private TlsContexts() {}

    /** A Netty context for the client role. */
    public static SslContext client(TlsPolicy policy) throws TlsSetupException {
        return build(policy, true);
    }

    /** A Netty context for the server role; the policy must name a certificate and key. */
    public static SslContext server(TlsPolicy policy) throws TlsSetupException {
        return build(policy, false);
    }

    /**
     * A client-side handler for one connection. {@code peerHost} is the host dialled: it is sent as
     * SNI when it is a name, and the server certificate must carry it when the policy names no
     * expected host.
     */
    public static SslHandler newClientHandler(SslContext context, TlsPolicy policy, ByteBufAllocator alloc,
            String peerHost, int peerPort) {
        SslHandler h = context.newHandler(alloc, peerHost, peerPort);
        h.setHandshakeTimeout(policy.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        return h;
    }

    /** A server-side handler for one accepted connection. */
    public static SslHandler newServerHandler(SslContext context, TlsPolicy policy, ByteBufAllocator alloc) {
        SslHandler h = context.newHandler(alloc);
        h.setHandshakeTimeout(policy.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        return h;
    }

    /**
     * A JDK {@link SSLContext} with the policy's key and trust material, for code that does not run on
     * Netty. It uses SunJSSE, or Conscrypt when that is the policy's provider (BoringSSL through
     * netty-tcnative has no JSSE face). Protocols and suites are not part of an {@code SSLContext}:
     * use {@link #socketFactory(TlsPolicy)}, which applies them, or {@link #sslParameters(TlsPolicy)}.
     */
    public static SSLContext jdkContext(TlsPolicy policy, boolean clientRole) throws TlsSetupException {
        Material m = Material.load(policy, clientRole);
        try {
            SSLContext ctx = policy.provider() == TlsProvider.CONSCRYPT
                    ? SSLContext.getInstance("TLS", TlsProvider.conscryptProvider())
                    : SSLContext.getInstance("TLS");
            ctx.init(m.keyManagers(), new TrustManager[] {new PolicyTrustManager(policy, m.trusted)}, new SecureRandom());
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new TlsSetupException("cannot create a JDK TLS context: " + e.getMessage(), e);
        }
    }

    /** SSL parameters carrying the policy's protocols, suites and SNI name. */
    public static SSLParameters sslParameters(TlsPolicy policy) {
        SSLParameters p = new SSLParameters();
        p.setProtocols(policy.protocols().toArray(new String[0]));
        p.setCipherSuites(policy.cipherSuites().toArray(new String[0]));
        p.setUseCipherSuitesOrder(true);
        policy.serverNameIndication().ifPresent(n -> p.setServerNames(List.of(new SNIHostName(n))));
        return p;
    }

    /**
     * A socket factory for blocking clients: every socket it creates has the policy's protocols and
     * suites, and its handshake verifies the server as the policy says (the host passed to
     * {@code createSocket} is the one checked when no expected name is configured).
     */
    public static SSLSocketFactory socketFactory(TlsPolicy policy) throws TlsSetupException {
        return new PolicySocketFactory(jdkContext(policy, true).getSocketFactory(), sslParameters(policy));
    }

    private static SslContext build(TlsPolicy policy, boolean clientRole) throws TlsSetupException {
        requireProvider(policy);
        if (clientRole && policy.peerVerification() == PeerVerification.NONE && !policy.allowUnverifiedPeer()) {
            throw new TlsSetupException("verify level 0 in the client role would trust any server;"
                    + " it needs an explicit opt-in (allowUnverifiedPeer)");
        }
        Material m = Material.load(policy, clientRole);
        SslContextBuilder b;
        if (clientRole) {
            b = SslContextBuilder.forClient();
            if (m.key != null) {
                b.keyManager(m.key, m.chain);
            }
            policy.serverNameIndication().ifPresent(n -> b.serverName(new SNIHostName(n)));
        } else {
            b = SslContextBuilder.forServer(m.key, m.chain);
            b.clientAuth(nettyClientAuth(policy.clientAuthentication()));
        }
        b.trustManager(new PolicyTrustManager(policy, m.trusted));
        b.protocols(policy.protocols());
        b.ciphers(nettyCipherSuites(policy), IdentityCipherSuiteFilter.INSTANCE);
        // Names are checked by PolicyTrustManager; the providers' own endpoint identification would
        // insist on the dialled host and refuse a server known by a file-system id.
        b.endpointIdentificationAlgorithm(null);
        switch (policy.provider()) {
            case JDK:
                b.sslProvider(SslProvider.JDK);
                break;
            case CONSCRYPT:
                b.sslProvider(SslProvider.JDK).sslContextProvider(TlsProvider.conscryptProvider());
                break;
            case OPENSSL:
                b.sslProvider(SslProvider.OPENSSL);
                break;
            default:
                throw new AssertionError(policy.provider());
        }
        try {
            return b.build();
        } catch (SSLException | RuntimeException e) {
            throw new TlsSetupException("cannot build a " + policy.provider() + " TLS context: " + e.getMessage(), e);
        }
    }

    private static void requireProvider(TlsPolicy policy) throws TlsSetupException {
        TlsProvider p = policy.provider();
        if (!p.isAvailable()) {
            Throwable cause = p.unavailabilityCause().orElse(null);
            throw new TlsSetupException("TLS provider " + p + " is not available here: " + cause, cause);
        }
        boolean tls13 = policy.maxProtocol() == TlsProtocol.TLS_1_3;
        if (p != TlsProvider.JDK && tls13) {
            List<String> tls13Suites = new ArrayList<>();
            for (String s : policy.cipherSuites()) {
                if (CipherSuites.isTls13(s)) {
                    tls13Suites.add(s);
                }
            }
            if (!tls13Suites.containsAll(CipherSuites.TLS13)) {
                throw new TlsSetupException("provider " + p + " (BoringSSL) always enables all three TLSv1.3 suites,"
                        + " which are all AEAD; it cannot restrict them to " + tls13Suites
                        + " (use provider JDK for that)");
            }
        }
    }

    private static List<String> nettyCipherSuites(TlsPolicy policy) {
        if (policy.provider() != TlsProvider.CONSCRYPT) {
            // SunJSSE takes both lists in one; Netty's OpenSSL engine splits them and turns TLSv1.3 off
            // when the list names no TLSv1.3 suite, so it must see them.
            return policy.cipherSuites();
        }
        // Conscrypt fixes the TLSv1.3 suites itself (checked above that all are wanted) and rejects a
        // list that restricts them; it gets the TLSv1.2 list only.
        List<String> out = new ArrayList<>();
        for (String s : policy.cipherSuites()) {
            if (!CipherSuites.isTls13(s)) {
                out.add(s);
            }
        }
        if (out.isEmpty()) {
            // TLSv1.3-only policy: BoringSSL still needs a non-empty TLSv1.2 list; it is never used.
            out.addAll(CipherSuites.TLS12);
        }
        return out;
    }

    private static io.netty.handler.ssl.ClientAuth nettyClientAuth(ClientAuthentication c) {
        switch (c) {
            case NONE:
                return io.netty.handler.ssl.ClientAuth.NONE;
            case OPTIONAL:
                return io.netty.handler.ssl.ClientAuth.OPTIONAL;
            case REQUIRED:
                return io.netty.handler.ssl.ClientAuth.REQUIRE;
            default:
                throw new AssertionError(c);
        }
    }

    /** Key, chain and trusted certificates read from the policy's files. */
    static final class Material {
        final PrivateKey key;
        final X509Certificate[] chain;
        final List<X509Certificate> trusted;

        private Material(PrivateKey key, X509Certificate[] chain, List<X509Certificate> trusted) {
            this.key = key;
            this.chain = chain;
            this.trusted = trusted;
        }

        static Material load(TlsPolicy policy, boolean clientRole) throws TlsSetupException {
            PrivateKey key = null;
            X509Certificate[] chain = null;
            if (policy.certificateChain().isPresent()) {
                Path certFile = policy.certificateChain().get();
                Path keyFile = policy.privateKey().orElse(certFile);
                try {
                    chain = PemFiles.readCertificates(certFile).toArray(new X509Certificate[0]);
                } catch (IOException e) {
                    throw new TlsSetupException("certificate: " + e.getMessage(), e);
                }
                try {
                    key = PemFiles.readPrivateKey(keyFile);
                } catch (IOException e) {
                    throw new TlsSetupException("key: " + e.getMessage(), e);
                }
                requireMatchingKey(key, chain[0], certFile, keyFile);
                warnIfOutsideValidity(chain[0], certFile);
            } else if (!clientRole) {
                throw new TlsSetupException("the server role needs a certificate and private key");
            }
            List<X509Certificate> trusted = new ArrayList<>();
            try {
                if (policy.trustedCertificates().isPresent()) {
                    trusted.addAll(PemFiles.readCertificates(policy.trustedCertificates().get()));
                }
                if (policy.trustedCertificateDirectory().isPresent()) {
                    trusted.addAll(PemFiles.readCertificateDirectory(policy.trustedCertificateDirectory().get()));
                }
            } catch (IOException e) {
                throw new TlsSetupException("CA: " + e.getMessage(), e);
            }
            return new Material(key, chain, trusted);
        }

        KeyManager[] keyManagers() throws TlsSetupException {
            if (key == null) {
                return null;
            }
            try {
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(null, null);
                char[] pw = new char[0];
                ks.setKeyEntry("own", key, pw, chain);
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, pw);
                return kmf.getKeyManagers();
            } catch (GeneralSecurityException | IOException e) {
                throw new TlsSetupException("cannot load the private key: " + e.getMessage(), e);
            }
        }

        private static void requireMatchingKey(PrivateKey key, X509Certificate cert, Path certFile, Path keyFile)
                throws TlsSetupException {
            String alg;
            switch (key.getAlgorithm()) {
                case "EC":
                    alg = "SHA256withECDSA";
                    break;
                case "RSA":
                    alg = "SHA256withRSA";
                    break;
                case "Ed25519":
                case "EdDSA":
                    alg = "Ed25519";
                    break;
                default:
                    throw new TlsSetupException(keyFile + ": unsupported key algorithm " + key.getAlgorithm());
            }
            try {
                byte[] probe = new byte[32];
                new SecureRandom().nextBytes(probe);
                Signature s = Signature.getInstance(alg);
                s.initSign(key);
                s.update(probe);
                byte[] sig = s.sign();
                Signature v = Signature.getInstance(alg);
                v.initVerify(cert.getPublicKey());
                v.update(probe);
                if (!v.verify(sig)) {
                    throw new TlsSetupException("the key in " + keyFile + " does not belong to the certificate in " + certFile);
                }
            } catch (GeneralSecurityException e) {
                throw new TlsSetupException("the key in " + keyFile + " does not belong to the certificate in " + certFile
                        + ": " + e.getMessage(), e);
            }
        }

        private static void warnIfOutsideValidity(X509Certificate cert, Path file) {
            try {
                cert.checkValidity();
            } catch (CertificateExpiredException | CertificateNotYetValidException e) {
                LOG.warn("own certificate {} ({}) is not valid now: {}", file, cert.getSubjectX500Principal(), e.getMessage());
            }
        }
    }

    /** Applies the policy's parameters to every socket the JDK factory creates. */
    private static final class PolicySocketFactory extends SSLSocketFactory {
        private final SSLSocketFactory delegate;
        private final SSLParameters params;

        PolicySocketFactory(SSLSocketFactory delegate, SSLParameters params) {
            this.delegate = delegate;
            this.params = params;
        }

        private Socket configure(Socket s) {
            SSLSocket ssl = (SSLSocket) s;
            SSLParameters p = ssl.getSSLParameters();
            p.setProtocols(params.getProtocols());
            p.setCipherSuites(params.getCipherSuites());
            p.setUseCipherSuitesOrder(true);
            if (params.getServerNames() != null && !params.getServerNames().isEmpty()) {
                p.setServerNames(params.getServerNames());
            }
            ssl.setSSLParameters(p);
            return ssl;
        }

        @Override
        public String[] getDefaultCipherSuites() {
            return params.getCipherSuites();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return params.getCipherSuites();
        }

        @Override
        public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
            return configure(delegate.createSocket(s, host, port, autoClose));
        }

        @Override
        public Socket createSocket() throws IOException {
            return configure(delegate.createSocket());
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            return configure(delegate.createSocket(host, port));
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
            return configure(delegate.createSocket(host, port, localHost, localPort));
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            return configure(delegate.createSocket(host, port));
        }

        @Override
        public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
                throws IOException {
            return configure(delegate.createSocket(address, port, localAddress, localPort));
        }
    }
}
