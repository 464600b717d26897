package io.coffer.tls;

import java.net.Socket;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * The one place a peer certificate is judged, for every provider alike.
 *
 * <p>Chain validation is delegated to the JDK's PKIX trust manager, called without the engine so
 * that it does no name check of its own; names are checked here against SANs so that a server can
 * be required to carry an arbitrary name such as a file-system id ({@code fs-1a2b3c4d}) that has
 * nothing to do with the address dialled. Doing both here, rather than through each provider's
 * endpoint identification, makes the three providers behave identically.
 */
final class PolicyTrustManager extends X509ExtendedTrustManager {
    private static final X509Certificate[] NO_CERTS = new X509Certificate[0];

    private final PeerVerification verification;
    private final List<String> expectedHosts;
    private final List<String> expectedIps;
    private final boolean implicitHostnameCheck;
    private final List<X509Certificate> localCertificates;
    private final X509TrustManager pkix;

    PolicyTrustManager(TlsPolicy policy, List<X509Certificate> localCertificates) throws TlsSetupException {
        this.verification = policy.peerVerification();
        this.expectedHosts = policy.expectedHostNames();
        this.expectedIps = policy.expectedIpAddresses();
        this.implicitHostnameCheck = policy.hostnameVerification();
        this.localCertificates = List.copyOf(localCertificates);
        this.pkix = verification.verifiesChain() ? pkixTrustManager(localCertificates) : null;
    }

    private static X509TrustManager pkixTrustManager(List<X509Certificate> anchors) throws TlsSetupException {
        try {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            int i = 0;
            for (X509Certificate c : anchors) {
                ks.setCertificateEntry("trusted-" + i++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(ks);
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509TrustManager) {
                    return (X509TrustManager) tm;
                }
            }
            throw new TlsSetupException("the JDK has no X509 PKIX trust manager");
        } catch (java.security.GeneralSecurityException | java.io.IOException e) {
            throw new TlsSetupException("cannot set up certificate validation: " + e.getMessage(), e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, authType, false, null);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        check(chain, authType, false, null);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain, authType, false, null);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, authType, true, null);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        String host = null;
        if (socket instanceof SSLSocket) {
            SSLSession s = ((SSLSocket) socket).getHandshakeSession();
            host = s != null ? s.getPeerHost() : null;
        }
        if (host == null && socket != null && socket.getInetAddress() != null) {
            host = socket.getInetAddress().getHostAddress();
        }
        check(chain, authType, true, host);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain, authType, true, engine != null ? engine.getPeerHost() : null);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        // With pinning or no verification the peer's issuer does not matter, so name none: a client's
        // key manager then offers its certificate whatever CA issued it.
        return pkix != null ? pkix.getAcceptedIssuers() : NO_CERTS;
    }

    private void check(X509Certificate[] chain, String authType, boolean peerIsServer, String peerHost)
            throws CertificateException {
        String peer = peerIsServer ? "server" : "client";
        if (chain == null || chain.length == 0) {
            throw new CertificateException("the " + peer + " presented no certificate");
        }
        if (verification == PeerVerification.NONE) {
            return;
        }
        X509Certificate leaf = chain[0];
        // Conscrypt reports TLS 1.3 as "GENERIC"; SunJSSE's validator calls the same thing "UNKNOWN"
        // (the key usage check then follows the certificate's key, not a key-exchange algorithm).
        if ("GENERIC".equals(authType)) {
            authType = "UNKNOWN";
        }
        if (pkix != null) {
            try {
                if (peerIsServer) {
                    pkix.checkServerTrusted(chain, authType);
                } else {
                    pkix.checkClientTrusted(chain, authType);
                }
            } catch (CertificateException e) {
                throw new CertificateException("the " + peer + " certificate '" + leaf.getSubjectX500Principal().getName()
                        + "' is not trusted: " + rootMessage(e), e);
            }
        }
        if (verification.pinsPeer()) {
            if (!localCertificates.contains(leaf)) {
                throw new CertificateException("the " + peer + " certificate '" + leaf.getSubjectX500Principal().getName()
                        + "' is not one of the locally installed certificates (verify level "
                        + verification.stunnelLevel() + ")");
            }
            if (pkix == null) {
                leaf.checkValidity();
            }
        }
        checkNames(leaf, peerIsServer, peerHost, peer);
    }

    private void checkNames(X509Certificate leaf, boolean peerIsServer, String peerHost, String peer)
            throws CertificateException {
        List<String> wanted = new ArrayList<>(expectedHosts);
        wanted.addAll(expectedIps);
        if (wanted.isEmpty()) {
            // The implicit check against the dialled host only makes sense where a chain was verified;
            // a pinned certificate already is the identity.
            if (!peerIsServer || !implicitHostnameCheck || !verification.verifiesChain()) {
                return;
            }
            if (peerHost == null || peerHost.isEmpty()) {
                throw new CertificateException("cannot check the server's name: no host was given for the connection"
                        + " and no expected host name is configured");
            }
            wanted.add(peerHost);
        }
        for (String name : wanted) {
            if (HostnameMatcher.matches(leaf, name)) {
                return;
            }
        }
        throw new CertificateException("the " + peer + " certificate does not match the expected name "
                + (wanted.size() == 1 ? "'" + wanted.get(0) + "'" : "(any of " + wanted + ")")
                + "; it carries DNS names " + HostnameMatcher.dnsNames(leaf)
                + " and IP addresses " + HostnameMatcher.ipAddresses(leaf));
    }

    private static String rootMessage(Throwable t) {
        Throwable c = t;
        String msg = t.getMessage();
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
            if (c.getMessage() != null) {
                msg = c.getMessage();
            }
        }
        return msg;
    }
}
