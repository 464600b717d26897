package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.coffer.tls.CertificateAuthority;
import io.coffer.tls.CertificateKind;
import io.coffer.tls.CertificateRequest;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Encryption in transit, through a real mount: in-process TLS, our client proxy, and Debian's
 * stunnel4 in client mode each carry a file workload, and a packet capture of the server port
 * holds none of the plaintext. Then every refusal: old protocols, weak suites, wrong CA, expired
 * certificate, wrong name, missing or unknown client certificates, a certificate not allowed
 * for the file system, and plaintext to a file system that requires TLS.
 */
class TlsIT {
    @TempDir
    static Path work;
    static Coffer coffer;
    static Path certs;
    static Path otherCerts;
    static Coffer.Server server;
    static String fs;
    static String restrictedFs;

    @BeforeAll
    static void setUp() throws Exception {
        Coffer.requireFuse();
        for (String tool : new String[] {"/usr/bin/openssl", "/usr/bin/tcpdump", "/usr/bin/stunnel4"}) {
            if (!Files.isExecutable(Path.of(tool))) {
                fail(tool + " is missing: apt-get install openssl tcpdump stunnel4");
            }
        }
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        coffer = new Coffer(work);
        certs = work.resolve("certs");
        CertificateAuthority ca = CertificateAuthority.init(certs);
        ca.issue(CertificateRequest.builder("localhost", CertificateKind.SERVER).dnsName("localhost").ipAddress("127.0.0.1").build());
        ca.issue(CertificateRequest.builder("client-a", CertificateKind.CLIENT).dnsName("client-a").build());
        ca.issue(CertificateRequest.builder("client-b", CertificateKind.CLIENT).dnsName("client-b").build());
        ca.issue(CertificateRequest.builder("client-c", CertificateKind.CLIENT).dnsName("client-c").build());
        ca.issue(CertificateRequest.builder("expired", CertificateKind.SERVER).dnsName("localhost").ipAddress("127.0.0.1")
                .validity(Instant.now().minus(Duration.ofDays(30)), Instant.now().minus(Duration.ofDays(1))).build());
        otherCerts = work.resolve("other-ca");
        CertificateAuthority.init(otherCerts).issue(CertificateRequest.builder("localhost", CertificateKind.SERVER)
                .dnsName("localhost").ipAddress("127.0.0.1").build());
        // client-a may mount everything; client-b only the first file system, read-only.
        server = coffer.server("--tls-cert", certs.resolve("localhost.pem").toString(), "--tls-key",
                certs.resolve("localhost.key").toString(), "--tls-ca", certs.resolve("ca.pem").toString());
        fs = server.createFs(Coffer.defaultFsArgs());
        restrictedFs = server.createFs(Coffer.defaultFsArgs());
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (coffer != null) {
            coffer.close();
        }
    }

    /** A packet capture of one TCP port on loopback, running until closed. */
    static final class Capture implements AutoCloseable {
        final Path file;
        final Process tcpdump;

        Capture(int port) throws Exception {
            file = work.resolve("capture-" + port + "-" + System.nanoTime() + ".pcap");
            tcpdump = new ProcessBuilder("/usr/bin/tcpdump", "-i", "lo", "-U", "-s", "0", "-w", file.toString(),
                    "tcp port " + port).redirectErrorStream(true).start();
            BufferedReader r = new BufferedReader(new InputStreamReader(tcpdump.getInputStream()));
            String line = r.readLine();
            if (line == null || !line.contains("listening on")) {
                fail("tcpdump did not start: " + line);
            }
        }

        byte[] bytes() throws Exception {
            return Files.readAllBytes(file);
        }

        @Override
        public void close() throws Exception {
            tcpdump.destroy();
            tcpdump.waitFor(10, TimeUnit.SECONDS);
        }
    }

    static boolean contains(byte[] hay, String needle) {
        byte[] n = needle.getBytes(StandardCharsets.UTF_8);
        outer:
        for (int i = 0; i + n.length <= hay.length; i++) {
            for (int j = 0; j < n.length; j++) {
                if (hay[i + j] != n[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /** The foundation's file operations, in miniature, with markers that must not show on the wire. */
    static List<String> workload(Path mnt) throws Exception {
        String tag = UUID.randomUUID().toString().replace("-", "");
        String content = "SECRET-CONTENT-" + tag;
        String name = "secret-name-" + tag;
        String target = "secret-target-" + tag;
        Path dir = Files.createDirectory(mnt.resolve("w-" + tag.substring(0, 8)));
        Files.writeString(dir.resolve(name), content.repeat(1000));
        Files.createSymbolicLink(dir.resolve("ln"), Path.of(target));
        Files.createDirectories(dir.resolve("a/b"));
        Files.move(dir.resolve(name), dir.resolve("a/b/" + name));
        Files.createLink(dir.resolve("hard"), dir.resolve("a/b/" + name));
        var xv = Files.getFileAttributeView(dir.resolve("hard"), java.nio.file.attribute.UserDefinedFileAttributeView.class);
        xv.write("k", StandardCharsets.UTF_8.encode("xattr-" + tag));
        for (int i = 0; i < 300; i++) {
            Files.createFile(dir.resolve("a/many-" + i));
        }
        try (var s = Files.list(dir.resolve("a"))) {
            assertEquals(301, s.count());
        }
        byte[] big = new byte[8 << 20];
        new java.util.Random(5).nextBytes(big);
        Files.write(dir.resolve("big"), big);
        Coffer.dropCaches();
        assertTrue(java.util.Arrays.equals(big, Files.readAllBytes(dir.resolve("big"))));
        assertEquals(content.repeat(1000), Files.readString(dir.resolve("hard")));
        assertEquals(target, Files.readSymbolicLink(dir.resolve("ln")).toString());
        Coffer.sh("rm -rf " + dir).ok();
        return List.of(content, name, target);
    }

    String proxyConfig(int accept, String provider) throws Exception {
        Path conf = work.resolve("client-" + accept + ".conf");
        Files.writeString(conf, String.join("\n",
                "foreground = yes",
                "[coffer]",
                "client = yes",
                "accept = 127.0.0.1:" + accept,
                "connect = 127.0.0.1:" + server.port,
                "CAfile = " + certs.resolve("ca.pem"),
                "verifyChain = yes",
                "checkHost = localhost",
                "sslVersionMin = TLSv1.2",
                ""));
        return conf.toString();
    }

    /** Starts a client-mode tunnel (ours or stunnel4) and returns its process once it accepts. */
    Process tunnel(String kind, int accept) throws Exception {
        String conf = proxyConfig(accept, kind);
        Process p;
        if (kind.equals("stunnel")) {
            p = new ProcessBuilder("/usr/bin/stunnel4", conf).redirectErrorStream(true)
                    .redirectOutput(work.resolve("stunnel-" + accept + ".log").toFile()).start();
            // stunnel4 has no readiness signal: wait for its listening socket to appear in /proc/net/tcp.
            long deadline = System.currentTimeMillis() + 20_000;
            String hexPort = String.format(":%04X ", accept);
            while (!Files.readString(Path.of("/proc/net/tcp")).contains(hexPort)) {
                if (!p.isAlive() || System.currentTimeMillis() > deadline) {
                    fail("stunnel4 did not start: " + Files.readString(work.resolve("stunnel-" + accept + ".log")));
                }
                Thread.sleep(20);
            }
        } else {
            Path ready = work.resolve("proxy-" + accept + ".ready");
            p = new ProcessBuilder(Coffer.launcher().toString(), "proxy", "--config", conf, "--ready-file", ready.toString())
                    .redirectErrorStream(true).redirectOutput(work.resolve("proxy-" + accept + ".log").toFile()).start();
            long deadline = System.currentTimeMillis() + 60_000;
            while (!Files.exists(ready)) {
                if (!p.isAlive() || System.currentTimeMillis() > deadline) {
                    fail("coffer proxy did not start: " + Files.readString(work.resolve("proxy-" + accept + ".log")));
                }
                Thread.sleep(20);
            }
        }
        return p;
    }

    @ParameterizedTest
    @ValueSource(strings = {"inprocess", "coffer-proxy", "stunnel"})
    void eachTransportCarriesTheFileTestsWithNoPlaintextOnTheWire(String mode) throws Exception {
        Process tunnel = null;
        String opts;
        if (mode.equals("inprocess")) {
            opts = "tls,proxy=none,addr=127.0.0.1,port=" + server.port + ",cafile=" + certs.resolve("ca.pem");
        } else {
            int accept = Coffer.freePort();
            tunnel = tunnel(mode.equals("stunnel") ? "stunnel" : "coffer", accept);
            opts = "addr=127.0.0.1,port=" + accept;
        }
        try (Capture cap = new Capture(server.port)) {
            Path mnt = coffer.mount(fs, opts);
            List<String> secrets = workload(mnt);
            coffer.umount(mnt);
            Thread.sleep(300);
            cap.close();
            byte[] wire = cap.bytes();
            assertTrue(wire.length > 9 << 20, "the capture saw the traffic (" + wire.length + " bytes)");
            for (String s : secrets) {
                assertFalse(contains(wire, s), mode + ": plaintext '" + s + "' seen on the server port");
            }
        } finally {
            if (tunnel != null) {
                tunnel.destroy();
                tunnel.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void theCaptureDoesSeePlaintextWhenThereIsSome() throws Exception {
        // Control for the test above: plaintext from loopback is allowed by the default policy.
        try (Capture cap = new Capture(server.port)) {
            Path mnt = coffer.mount(fs, "addr=127.0.0.1,port=" + server.port);
            List<String> secrets = workload(mnt);
            coffer.umount(mnt);
            Thread.sleep(300);
            cap.close();
            assertTrue(contains(cap.bytes(), secrets.get(0)), "a plaintext mount shows its data in the capture");
        }
    }

    static String openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", "echo | timeout 20 openssl s_client " + String.join(" ", args) + " 2>&1"));
        return Coffer.run(Duration.ofSeconds(30), cmd).out();
    }

    static int logLines(String needle) throws Exception {
        int n = 0;
        for (String l : Files.readAllLines(server.log())) {
            if (l.contains(needle)) {
                n++;
            }
        }
        return n;
    }

    @Test
    void oldProtocolsAndWeakSuitesAreRefused() throws Exception {
        int before = logLines("TLS handshake from");
        String tls11 = openssl("-connect", "127.0.0.1:" + server.port, "-tls1_1");
        assertFalse(tls11.contains("Cipher is ECDHE") || tls11.contains("New, TLSv1.1"), tls11);
        String weak = openssl("-connect", "127.0.0.1:" + server.port, "-tls1_2", "-cipher", "AES128-SHA256");
        assertTrue(weak.contains("alert") || weak.contains("handshake failure") || weak.contains("no cipher"), weak);
        String cbc = openssl("-connect", "127.0.0.1:" + server.port, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA");
        assertTrue(cbc.contains("alert") || cbc.contains("handshake failure"), cbc);
        Thread.sleep(300);
        assertTrue(logLines("TLS handshake from") >= before + 3, "each refusal has a server log line");
        // A modern client gets TLS 1.3 with an AEAD suite.
        String good = openssl("-connect", "127.0.0.1:" + server.port, "-CAfile", certs.resolve("ca.pem").toString());
        assertTrue(good.contains("TLSv1.3"), good);
        assertTrue(good.contains("Verify return code: 0 (ok)"), good);
    }

    Coffer.Result mountFails(String source, String options) throws Exception {
        Path mp = Files.createDirectories(work.resolve("refused-" + System.nanoTime()));
        Coffer.Result r = coffer.mountAt(source, options, mp);
        assertNotEquals(0, r.exit(), "mount should have been refused: " + options);
        assertFalse(Coffer.isMounted(mp));
        return r;
    }

    @Test
    void badServerCertificatesAreRefusedByTheClient() throws Exception {
        String base = "tls,proxy=none,addr=127.0.0.1,port=" + server.port;
        Coffer.Result otherCa = mountFails(fs, base + ",cafile=" + otherCerts.resolve("ca.pem"));
        assertTrue(otherCa.err().contains("TLS handshake failed"), otherCa.err());
        Coffer.Result wrongName = mountFails(fs, base + ",cafile=" + certs.resolve("ca.pem") + ",checkhost=files.example.com");
        assertTrue(wrongName.err().contains("does not match the expected name"), wrongName.err());

        Coffer.Server expired = coffer.server("--tls-cert", certs.resolve("expired.pem").toString(), "--tls-key",
                certs.resolve("expired.key").toString());
        Coffer.Result r = mountFails("fs-00000001", "tls,proxy=none,addr=127.0.0.1,port=" + expired.port + ",cafile="
                + certs.resolve("ca.pem"));
        assertTrue(r.err().toLowerCase().contains("expired") || r.err().contains("validity"), r.err());
        expired.stop();
    }

    @Test
    void mutualTlsAndAccessRules() throws Exception {
        Path rules = work.resolve("access.json");
        String template = "{ \"unlisted\": \"deny\", \"clients\": ["
                + "{ \"name\": \"client-a\", \"filesystems\": { \"*\": \"rw\" } },"
                + "{ \"name\": \"client-b\", \"filesystems\": { \"FS_A\": \"ro\" } },"
                + "{ \"name\": \"client-c\", \"rootSquash\": true, \"filesystems\": { \"FS_A\": \"rw\" } } ] }";
        Files.writeString(rules, template.replace("FS_A", "fs-00000000"));
        Coffer.Server s2 = coffer.server("--tls-cert", certs.resolve("localhost.pem").toString(), "--tls-key",
                certs.resolve("localhost.key").toString(), "--tls-ca", certs.resolve("ca.pem").toString(),
                "--tls-client-auth", "required", "--access", rules.toString());
        // Administrative commands from loopback are allowed whatever the certificate.
        String a = Coffer.coffer("fs", "create", "--server", s2.address(), "--tls-ca", certs.resolve("ca.pem").toString(),
                "--tls-cert", certs.resolve("client-b.pem").toString(), "--tls-key", certs.resolve("client-b.key").toString(),
                "--no-encrypted").ok().out().trim();
        String b = Coffer.coffer("fs", "create", "--server", s2.address(), "--tls-ca", certs.resolve("ca.pem").toString(),
                "--tls-cert", certs.resolve("client-b.pem").toString(), "--tls-key", certs.resolve("client-b.key").toString(),
                "--no-encrypted").ok().out().trim();
        Files.writeString(rules, template.replace("FS_A", a));
        s2.stop();
        coffer.restart(s2);
        String base = "tls,proxy=none,addr=127.0.0.1,port=" + s2.port + ",cafile=" + certs.resolve("ca.pem");
        Coffer.Result noCert = mountFails(a, base);
        assertTrue(noCert.err().contains("TLS") || noCert.err().contains("certificate"), noCert.err());
        Coffer.Result unknown = mountFails(a, base + ",cert=" + otherCerts.resolve("localhost.pem") + ",key="
                + otherCerts.resolve("localhost.key"));
        assertTrue(unknown.err().contains("TLS") || unknown.err().contains("certificate"), unknown.err());
        Coffer.Result notAllowed = mountFails(b, base + ",cert=" + certs.resolve("client-b.pem") + ",key="
                + certs.resolve("client-b.key"));
        assertTrue(notAllowed.err().contains("not allowed to mount " + b), notAllowed.err());
        assertTrue(Files.readString(s2.log()).contains("not allowed to mount it"), "server log names the refusal");

        Path rw = coffer.mount(a, base + ",cert=" + certs.resolve("client-a.pem") + ",key=" + certs.resolve("client-a.key"));
        Files.writeString(rw.resolve("by-a"), "written by client-a as root");
        Files.setPosixFilePermissions(rw, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertEquals(0, (int) Files.getAttribute(rw.resolve("by-a"), "unix:uid"));
        Path ro = coffer.mount(a, base + ",cert=" + certs.resolve("client-b.pem") + ",key=" + certs.resolve("client-b.key"));
        assertEquals("written by client-a as root", Files.readString(ro.resolve("by-a")));
        Coffer.Result touch = Coffer.sh("touch " + ro.resolve("by-b"));
        assertNotEquals(0, touch.exit());
        assertTrue(touch.err().contains("Read-only file system"), touch.err());
        Path squashed = coffer.mount(a, base + ",cert=" + certs.resolve("client-c.pem") + ",key=" + certs.resolve("client-c.key"));
        Files.writeString(squashed.resolve("by-c"), "root, squashed");
        Coffer.afterCacheTimeout();
        assertEquals(65534, (int) Files.getAttribute(squashed.resolve("by-c"), "unix:uid"), "root is squashed to nobody");
        coffer.umount(squashed);
        coffer.umount(ro);
        coffer.umount(rw);
    }

    @Test
    void plaintextToATlsOnlyFileSystemIsRefused() throws Exception {
        Coffer.coffer("fs", "set-policy", restrictedFs, "--transport", "tls-required", "--server", server.address(),
                "--tls-ca", certs.resolve("ca.pem").toString()).ok();
        Coffer.Result r = mountFails(restrictedFs, "addr=127.0.0.1,port=" + server.port);
        assertTrue(r.err().contains("requires TLS"), r.err());
        assertTrue(Files.readString(server.log()).contains("refused plaintext access to " + restrictedFs));
        Path ok = coffer.mount(restrictedFs, "tls,proxy=none,addr=127.0.0.1,port=" + server.port + ",cafile=" + certs.resolve("ca.pem"));
        coffer.umount(ok);
    }

    @Test
    void aProxyConfigWithAnUnknownOptionFailsWithItsLine() throws Exception {
        Path bad = work.resolve("bad.conf");
        String head = "foreground = yes\n[x]\nclient = yes\naccept = 127.0.0.1:1\nconnect = 127.0.0.1:2\nCAfile = "
                + certs.resolve("ca.pem") + "\n";
        Files.writeString(bad, head + "frobnicate = 7\n");
        Coffer.Result r = Coffer.coffer("proxy", "--config", bad.toString());
        assertNotEquals(0, r.exit());
        assertTrue(r.err().contains(bad + ":7"), r.err());
        Files.writeString(bad, head + "sslVersion = TLSv1\n");
        r = Coffer.coffer("proxy", "--config", bad.toString());
        assertNotEquals(0, r.exit());
        assertTrue(r.err().contains(bad + ":7"), r.err());
    }
}
