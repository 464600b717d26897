package io.coffer.tls;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaMiscPEMGenerator;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.util.io.pem.PemWriter;

/**
 * The PEM forms the JDK cannot read or write by itself (SEC1 and PKCS#1 keys, encrypted keys,
 * mixed files), through BouncyCastle. Kept apart from {@link PemFiles} so that a JVM which only
 * meets plain certificates and PKCS#8 keys never loads (and verifies the signed jars of)
 * BouncyCastle.
 */
final class BcPem {
    private BcPem() {}

    static List<X509Certificate> readCertificates(Path file) throws IOException {
        List<X509Certificate> certs = new ArrayList<>();
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
                PEMParser parser = new PEMParser(r)) {
            Object o;
            while ((o = readObject(parser, file)) != null) {
                if (o instanceof X509CertificateHolder) {
                    certs.add(converter.getCertificate((X509CertificateHolder) o));
                }
            }
        } catch (CertificateException e) {
            throw new IOException(file + ": unreadable certificate: " + e.getMessage(), e);
        }
        if (certs.isEmpty()) {
            throw new IOException(file + ": no PEM certificate found");
        }
        return certs;
    }

    static PrivateKey readPrivateKey(Path file) throws IOException {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
                PEMParser parser = new PEMParser(r)) {
            Object o;
            while ((o = readObject(parser, file)) != null) {
                if (o instanceof PEMKeyPair) {
                    return converter.getKeyPair((PEMKeyPair) o).getPrivate();
                }
                if (o instanceof PrivateKeyInfo) {
                    return converter.getPrivateKey((PrivateKeyInfo) o);
                }
                if (o instanceof PEMEncryptedKeyPair || o instanceof PKCS8EncryptedPrivateKeyInfo) {
                    throw new IOException(file + ": encrypted private keys are not supported (no passphrase prompt in a daemon)");
                }
            }
        }
        throw new IOException(file + ": no PEM private key found");
    }

    static Object readObject(PEMParser parser, Path file) throws IOException {
        try {
            return parser.readObject();
        } catch (IOException | RuntimeException e) {
            throw new IOException(file + ": malformed PEM: " + e.getMessage(), e);
        }
    }

    /** PEM text of certificates, in order. */
    static String toPem(List<X509Certificate> certificates) throws IOException {
        StringWriter sw = new StringWriter();
        try (PemWriter w = new PemWriter(sw)) {
            for (X509Certificate c : certificates) {
                w.writeObject(new JcaMiscPEMGenerator(c));
            }
        }
        return sw.toString();
    }

    /** PEM text of a private key in PKCS#8 form. */
    static String toPem(PrivateKey key) throws IOException {
        StringWriter sw = new StringWriter();
        try (PemWriter w = new PemWriter(sw)) {
            w.writeObject(new org.bouncycastle.util.io.pem.PemObject("PRIVATE KEY", key.getEncoded()));
        }
        return sw.toString();
    }
}

