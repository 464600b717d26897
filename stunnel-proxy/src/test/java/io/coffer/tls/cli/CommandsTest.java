package io.coffer.tls.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.tls.PemFiles;
import io.coffer.tls.PeerIdentity;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The commands in-process, as the top-level {@code coffer} command will run them. */
class CommandsTest {
    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {}

    static Run run(Object command, String... args) {
        CommandLine cl = new CommandLine(command);
        cl.setParameterExceptionHandler(CliErrors.oneLineParameterErrors());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    static void assertOneLineError(Run r, int exit, String fragment) {
        assertEquals(exit, r.exit(), r.toString());
        String[] lines = r.err().strip().split("\n");
        assertEquals(1, lines.length, "exactly one line on stderr: " + r.err());
        assertTrue(lines[0].contains("error: "), lines[0]);
        assertTrue(lines[0].contains(fragment), "'" + fragment + "' not in: " + lines[0]);
    }

    @Test
    void commandsHaveTheNamesTheCliRegisters() {
        assertEquals("proxy", new CommandLine(new ProxyCommand()).getCommandName());
        assertEquals("certs", new CommandLine(new CertsCommand()).getCommandName());
        assertTrue(new CommandLine(new CertsCommand()).getSubcommands().keySet().containsAll(List.of("init-ca", "issue")));
    }

    @Test
    void certsInitCaAndIssue() throws Exception {
        Path ca = dir.resolve("ca");
        Run init = run(new CertsCommand(), "init-ca", "--dir", ca.toString());
        assertEquals(0, init.exit(), init.toString());
        assertTrue(init.out().startsWith("created CA " + ca.resolve("ca.pem")), init.out());
        assertOneLineError(run(new CertsCommand(), "init-ca", "--dir", ca.toString()), 1, "refusing to replace");

        Run issue = run(new CertsCommand(), "issue", "--dir", ca.toString(), "--server", "fs-1a2b3c4d", "--ip",
                "127.0.0.1", "--dns", "files.example.com", "--days", "30");
        assertEquals(0, issue.exit(), issue.toString());
        assertTrue(issue.out().contains("DNS:fs-1a2b3c4d, DNS:files.example.com, IP:127.0.0.1"), issue.out());
        PeerIdentity id = PeerIdentity.of(PemFiles.readCertificates(ca.resolve("fs-1a2b3c4d.pem")).get(0), "", "");
        assertEquals(List.of("fs-1a2b3c4d", "files.example.com"), id.dnsNames());
        assertTrue(Files.exists(ca.resolve("fs-1a2b3c4d.key")));

        assertEquals(0, run(new CertsCommand(), "issue", "--dir", ca.toString(), "--client", "alice").exit());
        assertOneLineError(run(new CertsCommand(), "issue", "--dir", ca.toString(), "--client", "alice"), 1, "--force");
        assertEquals(0, run(new CertsCommand(), "issue", "--dir", ca.toString(), "--client", "alice", "--force").exit());
        assertOneLineError(run(new CertsCommand(), "issue", "--dir", ca.toString(), "--client", "bob", "--ip", "nope"),
                2, "not an IP address");
        assertOneLineError(run(new CertsCommand(), "issue", "--dir", dir.resolve("none").toString(), "--server", "x"),
                1, "no CA in");
        assertOneLineError(run(new CertsCommand(), "issue", "--dir", ca.toString(), "--server", "a", "--client", "b"),
                2, "mutually exclusive");
        assertOneLineError(run(new CertsCommand()), 2, "missing subcommand");
    }

    @Test
    void proxyReportsConfigurationErrorsOnOneLineWithFileAndLine() throws Exception {
        Path conf = dir.resolve("bad.conf");
        io.coffer.tls.CertificateAuthority ca = io.coffer.tls.CertificateAuthority.init(dir.resolve("ca"));
        Files.writeString(conf, "[s]\nclient = yes\naccept = 127.0.0.1:0\nsslVersion = TLSv1\nconnect = 9\nCAfile = "
                + ca.certificateFile() + "\n");
        assertOneLineError(run(new ProxyCommand(), "--config", conf.toString()), 2, conf + ":4:");
        assertOneLineError(run(new ProxyCommand(), "--config", dir.resolve("nope.conf").toString()), 2, "not found");
        assertOneLineError(run(new ProxyCommand()), 2, "--config FILE");
        assertOneLineError(run(new ProxyCommand(), "--client", "--connect", "h:1"), 2, "--accept");
        assertOneLineError(run(new ProxyCommand(), "--client", "--accept", "0.0.0.0:1", "--connect", "h:1"), 2,
                "command line (--accept): client mode accepts plaintext");
        assertOneLineError(run(new ProxyCommand(), "--server", "--accept", "127.0.0.1:0", "--connect", "h:1",
                "--provider", "gnutls"), 2, "unknown TLS provider");
        assertOneLineError(run(new ProxyCommand(), "--client", "--accept", "127.0.0.1:0", "--connect", "h:1",
                "--verify", "0"), 2, "verify = 0");
        assertOneLineError(run(new ProxyCommand(), "--bogus"), 2, "Unknown option");
    }
}
