package io.coffer.mount;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class TunnelTest {
    private static MountState state(String host) {
        MountState st = new MountState();
        st.fsId = "fs-1a2b3c4d";
        st.source = "fs-1a2b3c4d:/";
        st.mountpoint = "/mnt/data";
        st.tlsport = 20049;
        st.server = Tunnel.hostPort(host, 2049);
        st.checkHost = host;
        st.pidFile = "/var/run/coffer/fs-1a2b3c4d.mnt.data.20049.pid";
        return st;
    }

    @Test
    void stunnelSyntaxWithNameCheck() {
        String c = Tunnel.config(state("files.example.com"),
                new Tunnel.Settings("/etc/coffer/ca.pem", "/etc/coffer/c.pem", "/etc/coffer/c.key", 2, ""));
        assertTrue(c.contains("\n[coffer.fs-1a2b3c4d.mnt.data.20049]\nclient = yes\naccept = 127.0.0.1:20049\n"
                + "connect = files.example.com:2049\n"), c);
        assertTrue(c.contains("verify = 2\nCAfile = /etc/coffer/ca.pem\ncheckHost = files.example.com\n"
                + "cert = /etc/coffer/c.pem\nkey = /etc/coffer/c.key\n"), c);
        assertTrue(c.contains("pid = /var/run/coffer/fs-1a2b3c4d.mnt.data.20049.pid\n"));
        assertTrue(c.contains("foreground = yes\n"));
    }

    @Test
    void ipAddressesAreCheckedAsIps() {
        String c = Tunnel.config(state("127.0.0.1"), new Tunnel.Settings("/ca.pem", null, null, 2, ""));
        assertTrue(c.contains("checkIP = 127.0.0.1\n"), c);
        assertFalse(c.contains("cert ="));
        assertEquals("[::1]:2049", Tunnel.hostPort("::1", 2049));
        assertTrue(Tunnel.config(state("::1"), new Tunnel.Settings("/ca.pem", null, null, 2, "")).contains(
                "connect = [::1]:2049\n"));
    }

    @Test
    void commands() {
        MountState st = state("h");
        st.config = "/s/x.conf";
        st.readyFile = "/s/x.ready";
        st.statusFile = "/s/x.status";
        CofferConf conf = CofferConf.defaults();
        assertEquals(List.of("stunnel4", "/s/x.conf"),
                Tunnel.command("stunnel", a -> a, conf, st, new Tunnel.Settings("/ca", null, null, 2, "")));
        assertEquals(List.of("coffer", "proxy", "--config", "/s/x.conf", "--ready-file", "/s/x.ready", "--status-file",
                "/s/x.status", "--status-interval", "2", "--provider", "jdk"), Tunnel.command("coffer", a -> {
                    java.util.List<String> l = new java.util.ArrayList<>(List.of("coffer"));
                    l.addAll(a);
                    return l;
                }, conf, st, new Tunnel.Settings("/ca", null, null, 2, "jdk")));
    }

    @Test
    void baseNames() {
        assertEquals("fs-1a2b3c4d.mnt.data.20049", StateStore.baseName("fs-1a2b3c4d", "/mnt/data", 20049));
        assertEquals("fs-1a2b3c4d.mnt.my_data", StateStore.baseName("fs-1a2b3c4d", "/mnt/my data", null));
        assertEquals("fs-1a2b3c4d.root", StateStore.baseName("fs-1a2b3c4d", "/", null));
    }

    @Test
    void failureLines() {
        assertEquals("proxy: error: /x.conf:3: bad", Tunnel.failureLine("INFO something\nproxy: error: /x.conf:3: bad\n", false));
        assertEquals("stunnel: Cannot bind", Tunnel.failureLine(
                "2026.01.01 00:00:00 LOG5[ui]: x\n2026.01.01 00:00:00 LOG3[ui]: Cannot bind\n", true));
    }

    @Test
    void stunnelHandshakeFromItsLog(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path log = dir.resolve("p.log");
        java.nio.file.Files.writeString(log, "2026.11.27 17:39:08 LOG5[2]: Service [x] accepted connection\n"
                + "2026.11.27 17:39:08 LOG6[2]: TLSv1.3 ciphersuite: TLS_AES_256_GCM_SHA384 (256-bit encryption)\n"
                + "2026.11.27 17:39:09 LOG5[2]: Connection closed\n");
        String[] c = Tunnel.stunnelCipher(log);
        assertEquals("TLSv1.3", c[0]);
        assertEquals("TLS_AES_256_GCM_SHA384", c[1]);
    }

    @Test
    void stunnelConfigurationLogsHandshakes() {
        MountState st = state("h");
        st.proxy = "stunnel";
        assertTrue(Tunnel.config(st, new Tunnel.Settings("/ca", null, null, 2, "")).contains("debug = 6\n"));
        st.proxy = "coffer";
        assertFalse(Tunnel.config(st, new Tunnel.Settings("/ca", null, null, 2, "")).contains("debug ="));
    }

    @Test
    void restartsRunTheRecordedJvmCommandLine(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        MountState st = state("h");
        st.pidFile = dir.resolve("x.pid").toString();
        st.command = List.of("/opt/coffer/bin/coffer", "proxy");
        assertEquals(st.command, Tunnel.direct(st), "nothing recorded: the launcher");
        String java = System.getProperty("java.home") + "/bin/java";
        st.proxyExec = List.of(java, "-Xmx64m", "-cp", "x", "io.coffer.cli.Coffer", "proxy");
        assertEquals(st.proxyExec, Tunnel.direct(st));
        st.proxyExec = List.of("/no/such/java", "-cp", "x");
        assertEquals(st.command, Tunnel.direct(st), "a JVM that is gone: the launcher");
    }
}
