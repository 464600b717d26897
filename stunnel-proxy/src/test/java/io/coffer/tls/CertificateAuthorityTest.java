package io.coffer.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertificateExpiredException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECKey;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {
    @TempDir
    Path dir;

    @Test
    void initWritesCaFilesWithAPrivateKeyOnlyTheOwnerCanRead() throws Exception {
        CertificateAuthority ca = CertificateAuthority.init(dir);
        assertTrue(Files.exists(dir.resolve("ca.pem")));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca.key"))));
        X509Certificate c = ca.certificate();
        assertEquals(0, c.getBasicConstraints(), "a CA that may sign end-entity certificates only");
        assertTrue(c.getKeyUsage()[5], "keyCertSign");
        assertEquals("EC", c.getPublicKey().getAlgorithm());
        assertEquals(256, ((ECKey) c.getPublicKey()).getParams().getCurve().getField().getFieldSize());
        long days = ChronoUnit.DAYS.between(Instant.now(), c.getNotAfter().toInstant());
        assertTrue(days >= 3649 && days <= 3650, "CA lifetime " + days);
        assertThrows(FileAlreadyExistsException.class, () -> CertificateAuthority.init(dir), "never replaces a CA");
        assertEquals(c, CertificateAuthority.load(dir).certificate());
    }

    @Test
    void issuesServerAndClientLeavesWithNamesAndUsages() throws Exception {
        CertificateAuthority.init(dir);
        IssuedCertificate server = CertificateAuthority.issue(dir, "files.example.com", CertificateKind.SERVER,
                List.of("10.1.2.3", "fs-1a2b3c4d", "::1"), CertificateAuthority.DEFAULT_LEAF_LIFETIME);
        assertEquals(dir.resolve("files.example.com.pem"), server.certificateFile());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(server.keyFile())));
        X509Certificate c = server.certificate();
        PeerIdentity id = PeerIdentity.of(c, "n/a", "n/a");
        assertEquals(List.of("files.example.com", "fs-1a2b3c4d"), id.dnsNames());
        assertEquals(List.of("10.1.2.3", "0:0:0:0:0:0:0:1"), id.ipAddresses());
        assertEquals("files.example.com", id.commonName().orElseThrow());
        assertTrue(id.hasName("FS-1A2B3C4D"));
        assertTrue(id.hasName("10.1.2.3"));
        assertFalse(id.hasName("other.example.com"));
        assertEquals(List.of("1.3.6.1.5.5.7.3.1"), c.getExtendedKeyUsage(), "serverAuth");
        assertEquals(-1, c.getBasicConstraints(), "not a CA");
        long days = ChronoUnit.DAYS.between(Instant.now(), c.getNotAfter().toInstant());
        assertTrue(days >= 396 && days <= 397, "leaf lifetime " + days);
        c.verify(CertificateAuthority.load(dir).certificate().getPublicKey());
        PrivateKey key = PemFiles.readPrivateKey(server.keyFile());
        assertEquals("EC", key.getAlgorithm());

        IssuedCertificate client = CertificateAuthority.load(dir).issue("alice", CertificateKind.CLIENT, List.of(),
                List.of(InetAddress.getByName("127.0.0.1")), Duration.ofDays(30));
        assertEquals(List.of("1.3.6.1.5.5.7.3.2"), client.certificate().getExtendedKeyUsage(), "clientAuth");
        assertThrows(FileAlreadyExistsException.class, () -> CertificateAuthority.issue(dir, "alice",
                CertificateKind.CLIENT, List.of(), Duration.ofDays(1)));
    }

    @Test
    void chainOptionAppendsTheCaAndExpiredCertificatesCanBeMadeForTests() throws Exception {
        CertificateAuthority ca = CertificateAuthority.init(dir);
        IssuedCertificate chained = ca.issue(CertificateRequest.builder("srv", CertificateKind.SERVER)
                .includeChain(true).build());
        List<X509Certificate> certs = PemFiles.readCertificates(chained.certificateFile());
        assertEquals(2, certs.size());
        assertEquals(ca.certificate(), certs.get(1));
        IssuedCertificate expired = ca.issue(CertificateRequest.builder("old", CertificateKind.SERVER)
                .validity(Instant.now().minus(Duration.ofDays(10)), Instant.now().minus(Duration.ofDays(1))).build());
        assertThrows(CertificateExpiredException.class, () -> expired.certificate().checkValidity());
    }

    @Test
    void refusesNamesThatAreNotSafeFileNamesOrHosts() {
        assertThrows(IllegalArgumentException.class, () -> CertificateRequest.builder("../etc/passwd", CertificateKind.SERVER));
        assertThrows(IllegalArgumentException.class, () -> CertificateRequest.builder("a b", CertificateKind.SERVER));
        assertThrows(IllegalArgumentException.class,
                () -> CertificateRequest.builder("ok", CertificateKind.SERVER).dnsName("bad name"));
        assertThrows(IllegalArgumentException.class,
                () -> CertificateRequest.builder("ok", CertificateKind.SERVER).ipAddress("example.com"));
    }

    /** Keys as OpenSSL writes them: SEC1 EC, PKCS#1 RSA, PKCS#8, and cert+key in one file. */
    @Test
    void readsKeysInEveryPemFormOpenSslWrites() throws Exception {
        String openssl = ExternalTools.openssl();
        Path sec1 = dir.resolve("sec1.key");
        Path rsa1 = dir.resolve("rsa1.key");
        Path pkcs8 = dir.resolve("pkcs8.key");
        run(openssl, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", sec1.toString());
        run(openssl, "genrsa", "-traditional", "-out", rsa1.toString(), "2048");
        run(openssl, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pkcs8.toString());
        assertTrue(Files.readString(sec1).contains("BEGIN EC PRIVATE KEY"));
        assertTrue(Files.readString(rsa1).contains("BEGIN RSA PRIVATE KEY"));
        assertTrue(Files.readString(pkcs8).contains("BEGIN PRIVATE KEY"));
        assertEquals("EC", PemFiles.readPrivateKey(sec1).getAlgorithm());
        assertEquals("RSA", PemFiles.readPrivateKey(rsa1).getAlgorithm());
        assertEquals("RSA", PemFiles.readPrivateKey(pkcs8).getAlgorithm());

        Path combined = dir.resolve("combined.pem");
        Path cert = dir.resolve("self.pem");
        run(openssl, "req", "-x509", "-key", rsa1.toString(), "-subj", "/CN=localhost", "-days", "1",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-out", cert.toString());
        Files.writeString(combined, Files.readString(cert) + Files.readString(rsa1));
        assertEquals(1, PemFiles.readCertificates(combined).size());
        assertEquals("RSA", PemFiles.readPrivateKey(combined).getAlgorithm());

        Path enc = dir.resolve("enc.key");
        run(openssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes256", "-pass",
                "pass:secret", "-out", enc.toString());
        java.io.IOException e = assertThrows(java.io.IOException.class, () -> PemFiles.readPrivateKey(enc));
        assertTrue(e.getMessage().contains("encrypted"), e.getMessage());
    }

    static void run(String... cmd) throws Exception {
        ExternalTools.Result r = ExternalTools.run(List.of(cmd), null, Duration.ofSeconds(60));
        assertEquals(0, r.exitCode(), String.join(" ", cmd) + "\n" + r.output());
    }
}
