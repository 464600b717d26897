package io.coffer.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
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
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;

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
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        if (firstNonCertificate(text) < 0) {
            // The JDK reads plain certificate bundles itself. Loading BouncyCastle costs a new JVM
            // about half a second (its signed jars are verified), and a proxy that restarts must
            // listen again within two seconds.
            try {
                List<X509Certificate> certs = new ArrayList<>();
                for (Certificate c : CertificateFactory.getInstance("X.509")
                        .generateCertificates(new ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII)))) {
                    certs.add((X509Certificate) c);
                }
                if (certs.isEmpty()) {
                    throw new IOException(file + ": no PEM certificate found");
                }
                return certs;
            } catch (CertificateException e) {
                throw new IOException(file + ": unreadable certificate: " + e.getMessage(), e);
            }
        }
        return BcPem.readCertificates(file);
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
        PrivateKey pkcs8 = readPkcs8(file);
        if (pkcs8 != null) {
            return pkcs8;
        }
        return BcPem.readPrivateKey(file);
    }

    private static final String BEGIN = "-----BEGIN ";
    private static final List<String> KEY_ALGORITHMS = List.of("EC", "RSA", "Ed25519", "Ed448");

    /** Where the first PEM block that is not a certificate begins, or -1. */
    private static int firstNonCertificate(String text) {
        for (int i = text.indexOf(BEGIN); i >= 0; i = text.indexOf(BEGIN, i + 1)) {
            if (!text.startsWith("CERTIFICATE-----", i + BEGIN.length())) {
                return i;
            }
        }
        return -1;
    }

    /**
     * The key of a file whose first key block is an unencrypted PKCS#8 {@code PRIVATE KEY} (what
     * {@code coffer certs} writes), read with the JDK alone; null for any other form.
     */
    private static PrivateKey readPkcs8(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        int keyBlock = firstNonCertificate(text);
        String head = BEGIN + "PRIVATE KEY-----";
        if (keyBlock < 0 || !text.startsWith(head, keyBlock)) {
            return null;
        }
        int end = text.indexOf("-----END PRIVATE KEY-----", keyBlock);
        if (end < 0) {
            throw new IOException(file + ": malformed PEM: no END line for PRIVATE KEY");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(text.substring(keyBlock + head.length(), end));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": malformed PEM: " + e.getMessage(), e);
        }
        for (String alg : KEY_ALGORITHMS) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // not this algorithm; the next one, then BouncyCastle, may know it
            }
        }
        return null;
    }

    /** PEM text of certificates, in order. */
    public static String toPem(List<X509Certificate> certificates) throws IOException {
        return BcPem.toPem(certificates);
    }

    /** PEM text of a private key in PKCS#8 form. */
    public static String toPem(PrivateKey key) throws IOException {
        return BcPem.toPem(key);
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
