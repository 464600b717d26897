package io.coffer.tls;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * Certificates for one test: a CA with a server certificate (localhost, 127.0.0.1, fs-1a2b3c4d) and a
 * client certificate; a second, unrelated CA with a server and a client certificate of its own; an
 * expired server certificate from the first CA.
 */
public final class TestPki {
    public static final String FS_ID = "fs-1a2b3c4d";

    public final Path dir;
    public final CertificateAuthority ca;
    public final Path caFile;
    public final IssuedCertificate server;
    public final IssuedCertificate client;
    public final IssuedCertificate expiredServer;
    public final CertificateAuthority otherCa;
    public final IssuedCertificate otherServer;
    public final IssuedCertificate otherClient;

    public TestPki(Path dir) throws Exception {
        this.dir = dir;
        ca = CertificateAuthority.init(dir.resolve("ca"));
        caFile = ca.certificateFile();
        server = ca.issue(CertificateRequest.builder("localhost", CertificateKind.SERVER)
                .ipAddress("127.0.0.1").dnsName(FS_ID).build());
        client = ca.issue(CertificateRequest.builder("client1", CertificateKind.CLIENT).build());
        expiredServer = ca.issue(CertificateRequest.builder("expired", CertificateKind.SERVER)
                .dnsName("localhost").ipAddress("127.0.0.1")
                .validity(Instant.now().minus(Duration.ofDays(30)), Instant.now().minus(Duration.ofDays(1))).build());
        otherCa = CertificateAuthority.init(dir.resolve("other-ca"), "Other CA", Duration.ofDays(30));
        otherServer = otherCa.issue(CertificateRequest.builder("localhost", CertificateKind.SERVER)
                .ipAddress("127.0.0.1").dnsName(FS_ID).build());
        otherClient = otherCa.issue(CertificateRequest.builder("intruder", CertificateKind.CLIENT).build());
    }

    /** A new server certificate from the same CA (same names), written under another name. */
    public IssuedCertificate newServer(String name) throws Exception {
        return ca.issue(CertificateRequest.builder(name, CertificateKind.SERVER)
                .dnsName("localhost").ipAddress("127.0.0.1").dnsName(FS_ID).build());
    }

    /** Copies a certificate's files over another's (what an operator does before SIGHUP). */
    public static void replace(IssuedCertificate from, Path certFile, Path keyFile) throws Exception {
        Files.copy(from.certificateFile(), certFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(from.keyFile(), keyFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
}
