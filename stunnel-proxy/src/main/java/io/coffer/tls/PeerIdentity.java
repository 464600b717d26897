package io.coffer.tls;

import io.netty.handler.ssl.SslHandler;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Who is at the other end of an authenticated TLS session: what a server needs to authorize a client
 * holding a certificate (mutual TLS), independent of the provider that ran the handshake.
 *
 * <p>Take it only after the handshake succeeded; the certificate was then already checked by the
 * policy. For authorization prefer {@link #dnsNames()} (SANs, which the CA controls) or
 * {@link #sha256Fingerprint()} (pins one certificate) over the free-form subject.
 *
 * @param subject the subject distinguished name (RFC 2253)
 * @param commonName the subject's CN, if any
 * @param dnsNames DNS-name SANs, as written in the certificate
 * @param ipAddresses IP-address SANs, canonical text form
 * @param sha256Fingerprint lower-case hex SHA-256 of the DER certificate, no separators
 * @param serialNumber certificate serial number in hex
 * @param issuer the issuer distinguished name (RFC 2253)
 * @param protocol negotiated protocol, e.g. {@code TLSv1.3}
 * @param cipherSuite negotiated suite, IANA name
 * @param certificate the peer's end-entity certificate
 */
public record PeerIdentity(
        String subject,
        Optional<String> commonName,
        List<String> dnsNames,
        List<String> ipAddresses,
        String sha256Fingerprint,
        String serialNumber,
        String issuer,
        String protocol,
        String cipherSuite,
        X509Certificate certificate) {

    public PeerIdentity {
        dnsNames = List.copyOf(dnsNames);
        ipAddresses = List.copyOf(ipAddresses);
    }

    /** The identity of a session's peer; empty when the peer presented no certificate. */
    public static Optional<PeerIdentity> of(SSLSession session) {
        Certificate[] certs;
        try {
            certs = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
        if (certs == null || certs.length == 0 || !(certs[0] instanceof X509Certificate)) {
            return Optional.empty();
        }
        return Optional.of(of((X509Certificate) certs[0], session.getProtocol(), session.getCipherSuite()));
    }

    /** The identity of the peer of a connection whose handshake has completed. */
    public static Optional<PeerIdentity> of(SslHandler handler) {
        return of(handler.engine().getSession());
    }

    /** The identity described by one certificate, outside any session. */
    public static PeerIdentity of(X509Certificate cert, String protocol, String cipherSuite) {
        String subject = cert.getSubjectX500Principal().getName();
        return new PeerIdentity(subject, commonNameOf(subject), HostnameMatcher.dnsNames(cert),
                HostnameMatcher.ipAddresses(cert), fingerprint(cert), cert.getSerialNumber().toString(16),
                cert.getIssuerX500Principal().getName(), protocol, cipherSuite, cert);
    }

    /**
     * Whether the certificate carries {@code name} as a SAN: a DNS name (wildcards honoured, case
     * ignored) or an IP literal. The CN is not consulted.
     */
    public boolean hasName(String name) {
        return HostnameMatcher.matches(certificate, name);
    }

    /** Whether this is the certificate with the given SHA-256 fingerprint (hex, colons and case ignored). */
    public boolean hasFingerprint(String sha256Hex) {
        return sha256Fingerprint.equals(sha256Hex.replace(":", "").toLowerCase(Locale.ROOT));
    }

    static String fingerprint(X509Certificate cert) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException("cannot fingerprint certificate", e);
        }
    }

    private static Optional<String> commonNameOf(String dn) {
        try {
            List<Rdn> rdns = new LdapName(dn).getRdns();
            for (int i = rdns.size() - 1; i >= 0; i--) {
                if ("CN".equalsIgnoreCase(rdns.get(i).getType())) {
                    return Optional.of(String.valueOf(rdns.get(i).getValue()));
                }
            }
        } catch (InvalidNameException e) {
            // fall through: no CN
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return "PeerIdentity{subject=" + subject + ", dns=" + dnsNames + ", ip=" + ipAddresses
                + ", sha256=" + sha256Fingerprint + ", " + protocol + "/" + cipherSuite + "}";
    }
}
