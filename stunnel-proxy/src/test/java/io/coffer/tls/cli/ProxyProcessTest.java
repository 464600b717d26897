package io.coffer.tls.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.tls.EchoServer;
import io.coffer.tls.ExternalTools;
import io.coffer.tls.IssuedCertificate;
import io.coffer.tls.TestPki;
import io.coffer.tls.TlsContexts;
import io.coffer.tls.TlsPolicy;
import io.coffer.tls.TlsProvider;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.math.BigInteger;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy as a real child process: readiness lines and file, pid file, SIGHUP reload keeping open
 * connections while new ones get the new certificate, SIGUSR1 status, SIGTERM cleanup, no leaks.
 */
class ProxyProcessTest {
    @TempDir
    Path dir;

    @Test
    void runsAsAProcessAndReloadsCertificatesOnSighup() throws Exception {
        TestPki pki = new TestPki(dir);
        Path cert = dir.resolve("live.pem");
        Path key = dir.resolve("live.key");
        TestPki.replace(pki.server, cert, key);
        Path pid = dir.resolve("proxy.pid");
        Path ready = dir.resolve("proxy.ready");
        Path status = dir.resolve("proxy.pid.status");
        try (EchoServer echo = new EchoServer()) {
            Path conf = dir.resolve("proxy.conf");
            String service = "accept = 127.0.0.1:0\nconnect = 127.0.0.1:" + echo.port() + "\ncert = " + cert
                    + "\nkey = " + key + "\n";
            Files.writeString(conf, "foreground = yes\npid = " + pid + "\noutput = " + dir.resolve("proxy.log")
                    + "\n[one]\n" + service + "[two]\n" + service);
            List<String> cmd = new ArrayList<>();
            // As bin/coffer starts it: the test may itself run under nohup, which the JVM would honour.
            cmd.addAll(List.of("env", "--default-signal=HUP"));
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            for (String f : System.getProperty("coffer.test.jvmFlags", "").split("\\s+")) {
                if (!f.isBlank()) {
                    cmd.add(f);
                }
            }
            cmd.addAll(List.of("-cp", testClassPath(), ProxyCommand.class.getName(), "--config", conf.toString(),
                    "--ready-file", ready.toString(), "--status-interval", "1", "--provider", "openssl"));
            Process p = new ProcessBuilder(cmd).redirectError(dir.resolve("stderr.txt").toFile()).start();
            try {
                BlockingQueue<String> stdout = new LinkedBlockingQueue<>();
                Thread reader = new Thread(() -> {
                    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                        String l;
                        while ((l = r.readLine()) != null) {
                            stdout.add(l);
                        }
                    } catch (IOException e) {
                        // process ended
                    }
                });
                reader.setDaemon(true);
                reader.start();
                String l1 = next(stdout, p);
                String l2 = next(stdout, p);
                assertEquals("READY", next(stdout, p));
                Matcher m1 = Pattern.compile("READY one 127\\.0\\.0\\.1:(\\d+)").matcher(l1);
                Matcher m2 = Pattern.compile("READY two 127\\.0\\.0\\.1:(\\d+)").matcher(l2);
                assertTrue(m1.matches(), l1);
                assertTrue(m2.matches(), l2);
                int port = Integer.parseInt(m1.group(1));
                assertEquals(l1 + "\n" + l2 + "\nREADY\n", Files.readString(ready));
                assertEquals(Long.toString(p.pid()), Files.readString(pid).trim());

                TlsPolicy client = TlsPolicy.builder().provider(TlsProvider.JDK).trustedCertificates(pki.caFile)
                        .expectedHostName(TestPki.FS_ID).build();
                try (SSLSocket before = open(client, port)) {
                    assertEquals(serial(pki.server), peerSerial(before));
                    echo(before, 1);

                    IssuedCertificate renewed = pki.newServer("renewed");
                    TestPki.replace(renewed, cert, key);
                    signal("HUP", p.pid());
                    awaitStatus(status, "\"reloads\":1", p);

                    try (SSLSocket after = open(client, port)) {
                        assertEquals(serial(renewed), peerSerial(after));
                        echo(after, 2);
                    }
                    echo(before, 3); // opened before the reload, still carried
                }
                awaitStatus(status, "\"bytesIn\":3", p); // rewritten every second
                String st = Files.readString(status);
                assertTrue(st.contains("\"tlsVersion\":\"TLSv1.3\""), st);
                assertTrue(st.contains("\"certificateSubject\":\"CN=renewed\""), st);
                Files.delete(status);
                signal("USR1", p.pid());
                awaitStatus(status, "\"name\":\"two\"", p);

                p.destroy(); // SIGTERM
                assertTrue(p.waitFor(20, TimeUnit.SECONDS), "proxy did not stop on SIGTERM");
                assertNotEquals(0, p.exitValue());
                assertFalse(Files.exists(pid), "pid file removed on exit");
                assertFalse(Files.exists(ready), "ready file removed on exit");
                String log = Files.readString(dir.resolve("proxy.log"));
                assertTrue(log.matches("(?s).*\\d{4}\\.\\d\\d\\.\\d\\d \\d\\d:\\d\\d:\\d\\d LOG5\\[one\\]: certificates and keys reloaded.*"),
                        log);
                String stderr = Files.readString(dir.resolve("stderr.txt"));
                assertFalse(stderr.contains("LEAK:"), "leak reported by the child:\n" + stderr);
            } finally {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    static String testClassPath() {
        String cp = System.getProperty("surefire.test.class.path");
        return cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path");
    }

    static String next(BlockingQueue<String> lines, Process p) throws Exception {
        String l = lines.poll(30, TimeUnit.SECONDS);
        if (l == null) {
            throw new AssertionError("no line from the proxy within 30 s; alive=" + p.isAlive());
        }
        return l;
    }

    static void signal(String name, long pid) throws Exception {
        ExternalTools.Result r = ExternalTools.run(List.of("kill", "-" + name, Long.toString(pid)), null,
                Duration.ofSeconds(5));
        assertEquals(0, r.exitCode(), r.output());
    }

    static void awaitStatus(Path status, String fragment, Process p) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        String last = "";
        while (System.nanoTime() < deadline && p.isAlive()) {
            if (Files.exists(status)) {
                last = Files.readString(status);
                if (last.contains(fragment)) {
                    return;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("status file never contained " + fragment + ": " + last);
    }

    static SSLSocket open(TlsPolicy policy, int port) throws Exception {
        SSLSocket s = (SSLSocket) TlsContexts.socketFactory(policy).createSocket("127.0.0.1", port);
        s.setSoTimeout(10_000);
        return s;
    }

    static BigInteger serial(IssuedCertificate c) {
        return c.certificate().getSerialNumber();
    }

    static BigInteger peerSerial(SSLSocket s) throws IOException {
        s.startHandshake();
        return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
    }

    static void echo(Socket s, int b) throws IOException {
        s.getOutputStream().write(b);
        s.getOutputStream().flush();
        assertEquals(b, s.getInputStream().read());
    }
}
