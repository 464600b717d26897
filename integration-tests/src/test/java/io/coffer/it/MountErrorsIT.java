package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every way a mount can be wrong gives one line a user can act on, the exit code mount(8)
 * documents (1: usage, options, configuration, permissions; 32: the mount failed), and leaves
 * nothing behind: no mount, no state or tunnel file, no proxy or daemon process.
 */
class MountErrorsIT {
    @TempDir
    static Path work;
    static MountRig rig;
    static String fs;

    @BeforeAll
    static void server() throws Exception {
        rig = new MountRig(work, null).startServer();
        fs = rig.createFs();
    }

    @AfterAll
    static void stop() throws Exception {
        if (rig != null) {
            rig.close();
        }
    }

    private static void check(String source, Path mp, String options, int exit, String expected) throws Exception {
        Coffer.Result r = rig.mount(source, mp, options);
        rig.assertFailsCleanly(r, exit, expected, mp);
        assertNoProcessMentions(mp.toString());
        assertNoProcessMentions(rig.state.toString() + "/fs-");
    }

    /** No process is left whose command line names the mount point or a tunnel file of this test. */
    private static void assertNoProcessMentions(String text) throws IOException {
        List<String> found = new ArrayList<>();
        try (var s = Files.list(Path.of("/proc"))) {
            for (Path p : s.filter(d -> d.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String cmd = new String(Files.readAllBytes(p.resolve("cmdline"))).replace('\0', ' ');
                    String stat = Files.readString(p.resolve("stat"));
                    boolean zombie = stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
                    if (!zombie && cmd.contains(text) && !cmd.contains(" watchdog")) {
                        found.add(p.getFileName() + ": " + cmd);
                    }
                } catch (IOException e) {
                    // Gone meanwhile.
                }
            }
        }
        assertEquals(List.of(), found, "processes left behind");
    }

    @Test
    void badSource() throws Exception {
        check("fs-1234", rig.newMountpoint(), rig.tls(), 1, "bad source 'fs-1234': expected fs-XXXXXXXX[:/path]");
        check(fs + ":relative", rig.newMountpoint(), rig.tls(), 1, "the path must start with /");
    }

    @Test
    void badOptions() throws Exception {
        check(fs, rig.newMountpoint(), rig.tls() + ",bogus", 1, "unknown mount option: bogus");
        check(fs, rig.newMountpoint(), "tls,addr=127.0.0.1,port=abc", 1, "mount option port=abc is not a number");
        check(fs, rig.newMountpoint(), rig.tls() + ",verify=7", 1, "verify=7 out of range 0..2");
        check(fs, rig.newMountpoint(), "addr=127.0.0.1,cafile=/x", 1, "need -o tls");
        check(fs, rig.newMountpoint(), rig.tls() + ",cafile=/nonexistent/ca.pem", 1,
                "CA file /nonexistent/ca.pem is not readable");
    }

    @Test
    void badMountPoints() throws Exception {
        check(fs, work.resolve("no-such-dir"), rig.tls(), 32, "does not exist");
        Path file = Files.writeString(work.resolve("a-file"), "x");
        check(fs, file, rig.tls(), 32, "is not a directory");
        Path busy = rig.newMountpoint();
        assertEquals(0, rig.exec(Duration.ofSeconds(30), "mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", busy.toString())
                .exit());
        try {
            Coffer.Result r = rig.mount(fs, busy, rig.tls());
            assertEquals(32, r.exit(), r.err());
            assertTrue(r.err().strip().equals("mount.coffer: " + busy + " is already mounted (tmpfs, tmpfs)"), r.err());
            rig.assertStateDirClean();
        } finally {
            rig.exec(Duration.ofSeconds(30), "umount", busy.toString());
        }
    }

    @Test
    void unreachableServers() throws Exception {
        int nobody = Coffer.freePort();
        check(fs, rig.newMountpoint(), "tls,addr=127.0.0.1,port=" + nobody, 32,
                "cannot reach the Coffer server at 127.0.0.1:" + nobody + " through the TLS tunnel");
        check(fs, rig.newMountpoint(), "addr=127.0.0.1,port=" + nobody, 32,
                "cannot reach the Coffer server at 127.0.0.1:" + nobody + ": connection refused");
        // Name made from dns_name_format, which resolves nowhere.
        check(fs, rig.newMountpoint(), "tls", 32, "cannot resolve " + fs + ".coffer.internal");
    }

    @Test
    void untrustedServerCertificates() throws Exception {
        Path other = work.resolve("other-ca");
        rig.coffer("certs", "init-ca", "--dir", other.toString()).ok();
        check(fs, rig.newMountpoint(), rig.tls() + ",cafile=" + other.resolve("ca.pem"), 32, "is not trusted");
        check(fs, rig.newMountpoint(), rig.tls() + ",checkhost=files.example.com", 32,
                "does not match the expected name 'files.example.com'");
    }

    @Test
    void tlsportHeldByAnotherProgram() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            check(fs, rig.newMountpoint(), rig.tls() + ",tlsport=" + s.getLocalPort(), 32,
                    "tlsport=" + s.getLocalPort() + " is in use by another program");
        }
    }

    @Test
    void userMountsAreRefusedForNonRoot() throws Exception {
        Path mp = rig.newMountpoint();
        // What mount(8) runs for a user mount: the helper, without root.
        Coffer.Result r = rig.exec(Duration.ofMinutes(2), "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                Coffer.launcher().toString(), "mount.coffer", fs, mp.toString(), "-o", rig.tls() + ",user");
        rig.assertFailsCleanly(r, 1, "user mounts (-o user/users) are not supported: only root can mount", mp);
    }
}
