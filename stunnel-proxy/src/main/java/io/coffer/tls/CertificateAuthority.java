package io.coffer.tls;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A small file-based certificate authority for Coffer's TLS: {@code DIR/ca.pem} and {@code DIR/ca.key}
 * (mode 0600), issuing ECDSA P-256 leaf certificates as {@code DIR/NAME.pem} and {@code DIR/NAME.key}.
 *
 * <p>The CA is valid for {@value #CA_LIFETIME_DAYS} days and may sign only end-entity certificates
 * (path length 0). Leaves default to {@value #LEAF_LIFETIME_DAYS} days, the longest lifetime public CAs
 * may use; they carry their name and requested addresses as SANs and a serverAuth or clientAuth EKU.
 *
 * <p>Not thread-safe for concurrent issuing into the same directory with the same name.
 */
public final class CertificateAuthority {
    public static final int CA_LIFETIME_DAYS = 3650;
    public static final int LEAF_LIFETIME_DAYS = 397;
    public static final Duration DEFAULT_CA_LIFETIME = Duration.ofDays(CA_LIFETIME_DAYS);
    public static final Duration DEFAULT_LEAF_LIFETIME = Duration.ofDays(LEAF_LIFETIME_DAYS);
    public static final String CA_CERT_FILE = "ca.pem";
    public static final String CA_KEY_FILE = "ca.key";

    private static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path directory;
    private final X509Certificate certificate;
    private final PrivateKey key;

    private CertificateAuthority(Path directory, X509Certificate certificate, PrivateKey key) {
        this.directory = directory;
        this.certificate = certificate;
        this.key = key;
    }

    /**
     * Creates a new CA in {@code dir} (created if missing) named "Coffer CA".
     *
     * @throws FileAlreadyExistsException if {@code dir} already holds a CA; an existing CA is never replaced
     */
    public static CertificateAuthority init(Path dir) throws IOException, GeneralSecurityException {
        return init(dir, "Coffer CA", DEFAULT_CA_LIFETIME);
    }

    /** Creates a new CA in {@code dir} with the given subject CN and lifetime. */
    public static CertificateAuthority init(Path dir, String commonName, Duration lifetime)
            throws IOException, GeneralSecurityException {
        Files.createDirectories(dir);
        Path certFile = dir.resolve(CA_CERT_FILE);
        Path keyFile = dir.resolve(CA_KEY_FILE);
        if (Files.exists(certFile) || Files.exists(keyFile)) {
            throw new FileAlreadyExistsException(dir.toString(), null, "a CA already exists there (" + CA_CERT_FILE + "/"
                    + CA_KEY_FILE + "); refusing to replace it");
        }
        KeyPair kp = newKeyPair();
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
        Instant now = Instant.now();
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(),
                Date.from(now.minus(Duration.ofMinutes(1))), Date.from(now.plus(lifetime)), subject, kp.getPublic());
        try {
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
        } catch (CertIOException e) {
            throw new IOException("cannot encode CA extensions", e);
        }
        X509Certificate cert = sign(b, kp.getPrivate());
        // Key first: a CA certificate without its key would block a retry of init.
        PemFiles.writePrivateKey(keyFile, kp.getPrivate(), false);
        PemFiles.writeCertificates(certFile, List.of(cert), false);
        return new CertificateAuthority(dir, cert, kp.getPrivate());
    }

    /** Loads the CA kept in {@code dir}. */
    public static CertificateAuthority load(Path dir) throws IOException {
        Path certFile = dir.resolve(CA_CERT_FILE);
        Path keyFile = dir.resolve(CA_KEY_FILE);
        if (!Files.exists(certFile) || !Files.exists(keyFile)) {
            throw new IOException("no CA in " + dir + " (expected " + CA_CERT_FILE + " and " + CA_KEY_FILE
                    + "; create one with 'coffer certs init-ca --dir " + dir + "')");
        }
        return new CertificateAuthority(dir, PemFiles.readCertificates(certFile).get(0), PemFiles.readPrivateKey(keyFile));
    }

    /**
     * Loads the CA in {@code dir} and issues a certificate into the same directory.
     *
     * @param subjectAltNames extra SANs; IP literals become IP SANs, anything else DNS SANs
     */
    public static IssuedCertificate issue(Path dir, String name, CertificateKind kind, List<String> subjectAltNames,
            Duration lifetime) throws IOException, GeneralSecurityException {
        CertificateRequest.Builder r = CertificateRequest.builder(name, kind).lifetime(lifetime);
        subjectAltNames.forEach(r::subjectAltName);
        return load(dir).issue(r.build());
    }

    public Path directory() {
        return directory;
    }

    public Path certificateFile() {
        return directory.resolve(CA_CERT_FILE);
    }

    public X509Certificate certificate() {
        return certificate;
    }

    /** Issues a leaf with the given SANs (besides the name itself) and lifetime. */
    public IssuedCertificate issue(String name, CertificateKind kind, List<String> dnsNames, List<InetAddress> ips,
            Duration lifetime) throws IOException, GeneralSecurityException {
        CertificateRequest.Builder r = CertificateRequest.builder(name, kind).lifetime(lifetime).dnsNames(dnsNames);
        ips.forEach(r::ipAddress);
        return issue(r.build());
    }

    /** Issues a leaf into this CA's directory. */
    public IssuedCertificate issue(CertificateRequest request) throws IOException, GeneralSecurityException {
        return issueInto(directory, request);
    }

    /** Issues a leaf into another directory (tests keep several identities apart this way). */
    public IssuedCertificate issueInto(Path dir, CertificateRequest request) throws IOException, GeneralSecurityException {
        Path certFile = dir.resolve(request.name() + ".pem");
        Path keyFile = dir.resolve(request.name() + ".key");
        if (!request.overwrite() && (Files.exists(certFile) || Files.exists(keyFile))) {
            throw new FileAlreadyExistsException(certFile.toString(), null,
                    "a certificate named '" + request.name() + "' already exists; refusing to overwrite");
        }
        if (request.name().equals("ca")) {
            throw new IllegalArgumentException("'ca' is the CA's own file name");
        }
        KeyPair kp = newKeyPair();
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, request.name()).build();
        X500Name issuer = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded());
        Instant notAfter = request.notAfter();
        if (notAfter.isAfter(certificate.getNotAfter().toInstant())) {
            // A leaf outliving its CA only fails later, at an awkward time: cap it now.
            notAfter = certificate.getNotAfter().toInstant();
        }
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, serial(),
                Date.from(request.notBefore()), Date.from(notAfter), subject, kp.getPublic());
        List<GeneralName> sans = new ArrayList<>();
        for (String dns : request.dnsNames()) {
            sans.add(new GeneralName(GeneralName.dNSName, dns));
        }
        for (InetAddress ip : request.ipAddresses()) {
            sans.add(new GeneralName(GeneralName.iPAddress, ip.getHostAddress()));
        }
        try {
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                    request.kind() == CertificateKind.SERVER ? KeyPurposeId.id_kp_serverAuth : KeyPurposeId.id_kp_clientAuth));
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(new GeneralName[0])));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate));
        } catch (CertIOException e) {
            throw new IOException("cannot encode certificate extensions", e);
        }
        X509Certificate cert = sign(b, key);
        List<X509Certificate> chain = request.includeChain() ? List.of(cert, certificate) : List.of(cert);
        Files.createDirectories(dir);
        PemFiles.writePrivateKey(keyFile, kp.getPrivate(), request.overwrite());
        PemFiles.writeCertificates(certFile, chain, request.overwrite());
        return new IssuedCertificate(certFile, keyFile, cert);
    }

    private static KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return g.generateKeyPair();
    }

    private static BigInteger serial() {
        // 127 random bits, positive: unpredictable serials, as the CA/B Forum asks.
        return new BigInteger(127, RANDOM).setBit(126);
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws GeneralSecurityException {
        try {
            ContentSigner signer = new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(key);
            return new JcaX509CertificateConverter().getCertificate(b.build(signer));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException("cannot sign certificate: " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        X500Principal p = certificate.getSubjectX500Principal();
        return "CertificateAuthority{" + p.getName() + ", dir=" + directory + ", notAfter=" + certificate.getNotAfter() + "}";
    }
}
