package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.mount.MountState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Twenty {@code mount -t coffer -o tls} at the same moment: every one succeeds with a port and a
 * proxy of its own (the state lock serializes the choice of ports), one watchdog serves them
 * all, and unmounting them all at once leaves nothing behind.
 */
class MountConcurrentIT {
    private static final int N = 20;

    @TempDir
    Path work;

    @Test
    void twentySimultaneousMounts() throws Exception {
        // Twenty JVM proxies and daemons starting at once on two cores take their time.
        try (MountRig rig = new MountRig(work, null)) {
            Files.writeString(rig.conf, Files.readString(rig.conf).replace("[mount]\n",
                    "[mount]\nproxy_ready_timeout_sec = 300\nmount_timeout_sec = 300\nconnect_check_timeout_sec = 120\n"));
            rig.startServer();
            String fs = rig.createFs();
            List<Path> mps = new ArrayList<>();
            for (int i = 0; i < N; i++) {
                mps.add(rig.newMountpoint());
            }
            ExecutorService pool = Executors.newFixedThreadPool(N);
            long t0 = System.nanoTime();
            List<Future<Coffer.Result>> results = new ArrayList<>();
            for (Path mp : mps) {
                results.add(pool.submit(() -> rig.mount(fs + ":/", mp, rig.tls())));
            }
            List<String> failures = new ArrayList<>();
            for (int i = 0; i < N; i++) {
                Coffer.Result r = results.get(i).get();
                if (r.exit() != 0) {
                    failures.add(mps.get(i) + ": exit " + r.exit() + ": " + r.err().strip());
                }
            }
            long all = (System.nanoTime() - t0) / 1_000_000;
            pool.shutdown();
            System.out.println("MEASURE " + N + " simultaneous mounts: all done after " + all + " ms");
            assertEquals(List.of(), failures);

            Set<Integer> ports = new HashSet<>();
            Set<Long> proxies = new HashSet<>();
            List<MountState> states = new ArrayList<>();
            for (Path mp : mps) {
                MountState st = rig.stateOf(mp);
                states.add(st);
                assertTrue(st.proxyProcess().isAlive() && st.daemonProcess().isAlive(), mp.toString());
                ports.add(st.tlsport);
                proxies.add(st.proxyPid);
                Files.writeString(mp.resolve(mp.getFileName() + ".txt"), mp.getFileName().toString());
            }
            assertEquals(N, ports.size(), "a port per mount: " + ports);
            assertEquals(N, proxies.size(), "a proxy per mount");
            // All twenty mount the same file system: each sees what every other wrote.
            for (Path mp : mps) {
                for (Path other : List.of(mps.get(0), mps.get(N - 1))) {
                    assertEquals(other.getFileName().toString(), Files.readString(mp.resolve(other.getFileName() + ".txt")));
                }
            }
            assertEquals(1, watchdogs(rig), "one watchdog for all mounts");

            List<String> umount = new ArrayList<>(List.of("umount"));
            mps.forEach(m -> umount.add(m.toString()));
            long u0 = System.nanoTime();
            assertEquals(0, rig.exec(java.time.Duration.ofMinutes(2), umount.toArray(new String[0])).exit());
            long worst = 0;
            for (int i = 0; i < N; i++) {
                rig.awaitGone(mps.get(i), states.get(i), Math.max(1, 5000 - (System.nanoTime() - u0) / 1_000_000));
            }
            worst = (System.nanoTime() - u0) / 1_000_000;
            System.out.println("MEASURE cleanup of " + N + " mounts after one umount: " + worst + " ms");
            rig.assertStateDirClean();
        }
    }

    /** Processes running "coffer watchdog" for this rig's state directory. */
    private static int watchdogs(MountRig rig) throws Exception {
        int n = 0;
        try (var s = Files.list(Path.of("/proc"))) {
            for (Path p : s.filter(d -> d.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String cmd = new String(Files.readAllBytes(p.resolve("cmdline"))).replace('\0', ' ');
                    String env = new String(Files.readAllBytes(p.resolve("environ"))).replace('\0', '\n');
                    if (cmd.contains(" watchdog") && env.contains("COFFER_STATE_DIR=" + rig.state + "\n")
                            && cmd.contains("java")) {
                        n++;
                    }
                } catch (java.io.IOException e) {
                    // Gone.
                }
            }
        }
        return n;
    }
}
