package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.mount.MountState;
import io.coffer.mount.MountTable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real install path, with the system's own directories: {@code bin/coffer install},
 * {@code mount -t coffer} with /etc/coffer/coffer.conf and /var/run/coffer, {@code umount},
 * {@code bin/coffer uninstall} removing what install added. A machine that had Coffer installed
 * before the test has it installed again afterwards.
 */
class MountInstallIT {
    private static final Path HELPER = Path.of("/sbin/mount.coffer");
    private static final Path CONF = Path.of("/etc/coffer/coffer.conf");
    private static final Path UNIT = Path.of("/etc/systemd/system/coffer-watchdog.service");
    private static final Path MANIFEST = Path.of("/etc/coffer/.install-manifest.json");

    @TempDir
    Path work;

    @Test
    void installMountUmountUninstall() throws Exception {
        boolean before = Files.exists(MANIFEST);
        boolean confBefore = Files.exists(CONF);
        try (MountRig rig = new MountRig(work, null, false)) {
            rig.env.clear(); // the system's paths from here on
            Coffer.Result in = rig.coffer("install");
            assertEquals(0, in.exit(), in.err() + in.out());
            assertTrue(Files.isExecutable(HELPER));
            assertTrue(Files.readString(HELPER).contains("exec '" + Coffer.launcher() + "' mount.coffer \"$@\""));
            assertTrue(Files.exists(CONF));
            assertTrue(Files.readString(UNIT).contains("ExecStart=" + Coffer.launcher() + " watchdog"));
            assertTrue(Files.isDirectory(Path.of("/var/run/coffer")) && Files.isDirectory(Path.of("/var/log/coffer")));

            rig.startServer();
            String fs = rig.createFs();
            Path mp = rig.newMountpoint();
            rig.mount(fs + ":/", mp, rig.tls() + ",cafile=" + rig.ca).ok();
            MountState st = null;
            for (MountState s : new io.coffer.mount.StateStore(Path.of("/var/run/coffer")).list().values()) {
                if (s.mountpoint.equals(mp.toString())) {
                    st = s;
                }
            }
            assertNotNull(st, "state in /var/run/coffer");
            assertTrue(st.proxyProcess().isAlive());
            assertTrue(st.proxyLog.startsWith("/var/log/coffer/"), st.proxyLog);
            Files.writeString(mp.resolve("installed.txt"), "ok\n");
            assertEquals("ok\n", Files.readString(mp.resolve("installed.txt")));
            assertTrue(Files.readString(Path.of("/var/log/coffer/mount.log")).contains("mounted " + fs + ":/ on " + mp));
            assertEquals(0, rig.exec(Duration.ofSeconds(60), "umount", mp.toString()).exit());
            long t0 = System.currentTimeMillis();
            while (true) {
                boolean left = MountTable.find(mp).isPresent() || st.proxyProcess().isAlive() || st.daemonProcess().isAlive()
                        || Files.exists(Path.of(st.config));
                if (!left) {
                    break;
                }
                assertTrue(System.currentTimeMillis() - t0 < 5000, "mount cleaned up within 5 s");
                Thread.sleep(20);
            }

            boolean othersMounted = MountTable.read().stream().anyMatch(MountTable.Entry::isCoffer);
            Coffer.Result un = othersMounted ? rig.coffer("uninstall", "--force") : rig.coffer("uninstall");
            assertEquals(0, un.exit(), un.err() + un.out());
            assertFalse(Files.exists(HELPER), un.out());
            assertFalse(Files.exists(UNIT), un.out());
            assertFalse(Files.exists(MANIFEST), un.out());
            if (!confBefore) {
                assertFalse(Files.exists(CONF), "the unchanged coffer.conf is removed: " + un.out());
            }
            assertTrue(un.out().contains("Uninstalled."), un.out());
            Coffer.Result again = rig.exec(Duration.ofMinutes(1), "mount", "-t", "coffer", fs, mp.toString());
            assertTrue(again.exit() != 0, "no helper, no mount");
        } finally {
            if (before && !Files.exists(MANIFEST)) {
                Coffer.coffer("install");
            }
        }
    }
}
