package io.coffer.tls;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
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
 * Reads and writes the PEM files stunnel and OpenSSL use: certificate bundles, and private keys in
 * PKCS#8 ({@code PRIVATE KEY}), SEC1 ({@code EC PRIVATE KEY}) or PKCS#1 ({@code RSA PRIVATE KEY})
 * form. A file may hold certificates and a key together, as stunnel's {@code cert} file may.
 *
 * <p>Private keys are written with mode 0600 from the moment the file exists (never created
 * world-readable and then narrowed), and replaced atomically.
 */
public final class PemFiles {
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> PUBLIC_READ = PosixFilePermissions.fromString("rw-r--r--");

    private PemFiles() {}

    /**
     * Reads every certificate in a PEM file, in file order; other PEM objects (such as a private
     * key) are skipped.
     *
     * @throws IOException if the file cannot be read or holds no certificate
     */
    public static List<X509Certificate> readCertificates(Path file) throws IOException {
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

    /**
     * Reads the certificates of every regular file in a directory (stunnel's {@code CApath});
     * files that hold no certificate are skipped.
     */
    public static List<X509Certificate> readCertificateDirectory(Path dir) throws IOException {
        List<X509Certificate> certs = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                if (!Files.isRegularFile(f)) {
                    continue;
                }
                try {
                    certs.addAll(readCertificates(f));
                } catch (IOException e) {
                    // CApath directories also hold CRLs and unrelated files; only certificates matter here.
                }
            }
        }
        if (certs.isEmpty()) {
            throw new IOException(dir + ": no PEM certificate found in directory");
        }
        return certs;
    }

    /**
     * Reads the first private key in a PEM file (PKCS#8, SEC1 EC or PKCS#1 RSA).
     *
     * @throws IOException if the file cannot be read, holds no key, or the key is encrypted
     */
    public static PrivateKey readPrivateKey(Path file) throws IOException {
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

    private static Object readObject(PEMParser parser, Path file) throws IOException {
        try {
            return parser.readObject();
        } catch (IOException | RuntimeException e) {
            throw new IOException(file + ": malformed PEM: " + e.getMessage(), e);
        }
    }

    /** PEM text of certificates, in order. */
    public static String toPem(List<X509Certificate> certificates) throws IOException {
        StringWriter sw = new StringWriter();
        try (PemWriter w = new PemWriter(sw)) {
            for (X509Certificate c : certificates) {
                w.writeObject(new JcaMiscPEMGenerator(c));
            }
        }
        return sw.toString();
    }

    /** PEM text of a private key in PKCS#8 form. */
    public static String toPem(PrivateKey key) throws IOException {
        StringWriter sw = new StringWriter();
        try (PemWriter w = new PemWriter(sw)) {
            w.writeObject(new org.bouncycastle.util.io.pem.PemObject("PRIVATE KEY", key.getEncoded()));
        }
        return sw.toString();
    }

    /** Writes certificates (mode 0644), atomically replacing the file if {@code overwrite}. */
    public static void writeCertificates(Path file, List<X509Certificate> certificates, boolean overwrite)
            throws IOException {
        writeAtomically(file, toPem(certificates), PUBLIC_READ, overwrite);
    }

    /** Writes a private key as PKCS#8 PEM with mode 0600, atomically replacing the file if {@code overwrite}. */
    public static void writePrivateKey(Path file, PrivateKey key, boolean overwrite) throws IOException {
        writeAtomically(file, toPem(key), OWNER_ONLY, overwrite);
    }

    private static void writeAtomically(Path file, String text, Set<PosixFilePermission> perms, boolean overwrite)
            throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        if (!overwrite && Files.exists(file)) {
            throw new FileAlreadyExistsException(file.toString(), null, "refusing to overwrite");
        }
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp",
                PosixFilePermissions.asFileAttribute(perms));
        try {
            try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.US_ASCII)) {
                w.write(text);
            }
            // createTempFile's permissions are filtered by the umask; set them exactly.
            Files.setPosixFilePermissions(tmp, perms);
            try {
                if (overwrite) {
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } else {
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
                }
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
