package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.coffer.mount.MountState;
import io.coffer.mount.MountTable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * mount.coffer through mount(8), against a server that speaks TLS: a mount and its state, tunnel
 * and status; an fstab file with {@code mount -a -T}; a subdirectory; Debian's stunnel4 as the
 * tunnel; a plaintext mount. Every unmount must leave nothing behind within 5 seconds.
 */
class MountTlsIT {
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

    @Test
    void tlsMountStateStatusAndCleanUnmount() throws Exception {
        Path mp = rig.newMountpoint();
        long t0 = System.nanoTime();
        rig.mount(fs + ":/", mp, rig.tls()).ok();
        long mountMillis = (System.nanoTime() - t0) / 1_000_000;
        System.out.println("MEASURE mount -t coffer -o tls: " + mountMillis + " ms");

        MountTable.Entry e = MountTable.find(mp).orElseThrow();
        assertEquals("fuse.coffer", e.fsType());
        assertEquals(fs + ":/", e.source());

        MountState st = rig.stateOf(mp);
        assertNotNull(st, "state file of " + mp);
        assertEquals(MountState.MOUNTED, st.phase);
        assertEquals(fs, st.fsId);
        assertEquals(mp.toString(), st.mountpoint);
        assertEquals("127.0.0.1:" + rig.port, st.server);
        assertEquals("coffer", st.proxy);
        assertTrue(st.tlsport >= 33000 && st.tlsport <= 33999, "port from the configured range: " + st.tlsport);
        assertTrue(st.proxyProcess().isAlive(), "proxy runs");
        assertTrue(st.daemonProcess().isAlive(), "daemon runs");
        assertNotNull(st.mountTime);
        assertTrue(st.command.contains("proxy") && st.command.contains(st.config), st.command.toString());
        String config = Files.readString(Path.of(st.config));
        assertTrue(config.contains("accept = 127.0.0.1:" + st.tlsport + "\n"), config);
        assertTrue(config.contains("connect = 127.0.0.1:" + rig.port + "\n"), config);
        assertTrue(config.contains("CAfile = " + rig.ca + "\n"), config);
        assertTrue(config.contains("checkIP = 127.0.0.1\n"), config);
        assertTrue(config.contains("verify = 2\n"), config);
        assertTrue(st.daemonOptions.endsWith("addr=127.0.0.1,port=" + st.tlsport) && !st.daemonOptions.contains("tls"),
                "the daemon speaks plaintext to the tunnel: " + st.daemonOptions);

        Path f = mp.resolve("hello.txt");
        Files.writeString(f, "through the tunnel\n");
        assertEquals("through the tunnel\n", Files.readString(f));

        // The watchdog's first health check, then the status of the tunnel.
        JsonNode row = null;
        long deadline = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < deadline) {
            JsonNode j = new ObjectMapper().readTree(rig.coffer("status", "--json").ok().out());
            for (JsonNode m : j.path("mounts")) {
                if (m.path("mountpoint").asText().equals(mp.toString())) {
                    row = m;
                }
            }
            if (row != null && row.path("health").asText().equals("ok") && row.path("bytes_in").asLong() > 0) {
                break;
            }
            Thread.sleep(500);
        }
        assertNotNull(row);
        assertEquals("ok", row.path("health").asText(), row.toString());
        assertTrue(row.path("tls_version").asText().startsWith("TLSv1."), row.toString());
        assertFalse(row.path("cipher").asText().isEmpty(), row.toString());
        assertEquals(st.proxyPid.longValue(), row.path("proxy_pid").asLong());
        assertEquals(st.tlsport.intValue(), row.path("tlsport").asInt());
        assertTrue(row.path("bytes_in").asLong() > 0 && row.path("bytes_out").asLong() > 0, row.toString());
        String table = rig.coffer("status").ok().out();
        assertTrue(table.contains(mp.toString()) && table.contains(fs + ":/") && table.contains("TLSv1.")
                && table.contains(Integer.toString(st.tlsport)), table);

        rig.umount(mp).ok();
        long gone = rig.awaitGone(mp, st, 5000);
        System.out.println("MEASURE cleanup after umount (state, proxy, daemon, files): " + gone + " ms");
        rig.assertStateDirClean();
    }

    @Test
    void fstabMountAllWithASubdirectory() throws Exception {
        Path root = rig.newMountpoint();
        rig.mount(fs + ":/", root, rig.tls()).ok();
        Files.createDirectories(root.resolve("sub/inner"));
        Files.writeString(root.resolve("sub/inner/only-in-sub.txt"), "sub\n");
        Files.writeString(root.resolve("top.txt"), "top\n");
        MountState rootState = rig.stateOf(root);
        rig.umount(root).ok();
        rig.awaitGone(root, rootState, 5000);

        Path a = rig.newMountpoint();
        Path b = rig.newMountpoint();
        Path fstab = work.resolve("fstab");
        Files.writeString(fstab, "# Coffer mounts of this test\n"
                + fs + ":/ " + a + " coffer " + rig.tls() + ",_netdev 0 0\n"
                + fs + ":/sub " + b + " coffer " + rig.tls() + ",_netdev,nofail,ro 0 0\n");
        rig.track(a);
        rig.track(b);
        Coffer.Result r = rig.exec(Duration.ofMinutes(4), "mount", "-a", "-T", fstab.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals(fs + ":/", MountTable.find(a).orElseThrow().source());
        assertEquals(fs + ":/sub", MountTable.find(b).orElseThrow().source());
        assertEquals("top\n", Files.readString(a.resolve("top.txt")));
        assertEquals("sub\n", Files.readString(b.resolve("inner/only-in-sub.txt")), "the subdirectory is the root");
        assertFalse(Files.exists(b.resolve("top.txt")));
        assertFalse(Files.isWritable(b) && canWrite(b.resolve("x")), "ro from fstab");
        MountState sa = rig.stateOf(a);
        MountState sb = rig.stateOf(b);
        assertTrue(!sa.tlsport.equals(sb.tlsport), "a port per mount");

        // Running mount -a again is harmless: both are mounted already.
        assertEquals(0, rig.exec(Duration.ofMinutes(2), "mount", "-a", "-T", fstab.toString()).exit());

        assertEquals(0, rig.exec(Duration.ofSeconds(60), "umount", a.toString(), b.toString()).exit());
        rig.awaitGone(a, sa, 5000);
        rig.awaitGone(b, sb, 5000);
    }

    private static boolean canWrite(Path f) {
        try {
            Files.writeString(f, "x");
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    @Test
    void stunnel4AsTheTunnel() throws Exception {
        Path mp = rig.newMountpoint();
        rig.mount(fs + ":/", mp, rig.tls() + ",proxy=stunnel").ok();
        MountState st = rig.stateOf(mp);
        assertEquals("stunnel", st.proxy);
        assertEquals("stunnel4", st.command.get(0));
        assertTrue(st.proxyProcess().isAlive());
        Files.writeString(mp.resolve("via-stunnel.txt"), "stunnel\n");
        assertEquals("stunnel\n", Files.readString(mp.resolve("via-stunnel.txt")));
        String table = rig.coffer("status").ok().out();
        assertTrue(table.contains("stunnel") && table.contains("TLSv1."), table);
        rig.umount(mp).ok();
        rig.awaitGone(mp, st, 5000);
    }

    @Test
    void plaintextMountHasStateButNoTunnel() throws Exception {
        Path mp = rig.newMountpoint();
        rig.mount(fs + ":/", mp, "addr=127.0.0.1,port=" + rig.adminPort).ok();
        MountState st = rig.stateOf(mp);
        assertNotNull(st);
        assertEquals(null, st.tlsport);
        assertEquals(null, st.proxyPid);
        assertTrue(st.daemonProcess().isAlive());
        Files.writeString(mp.resolve("plain.txt"), "plain\n");
        rig.umount(mp).ok();
        rig.awaitGone(mp, st, 5000);
    }
}
