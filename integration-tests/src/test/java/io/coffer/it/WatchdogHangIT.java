package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.mount.MountState;
import io.coffer.mount.ProcessRef;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -STOP of a mount's proxy: nothing dies, the tunnel simply stops answering. The watchdog's
 * health checks (HELLO and NULL through the tunnel, with the default interval, timeout and
 * count) find it hung, kill it and start a new one on the same port, and I/O that was stuck
 * resumes within 30 seconds.
 */
class WatchdogHangIT {
    @TempDir
    Path work;

    @Test
    void hungProxyIsReplacedAndIoResumes() throws Exception {
        try (MountRig rig = new MountRig(work, null).startServer()) {
            String fs = rig.createFs();
            Path mp = rig.newMountpoint();
            rig.mount(fs + ":/", mp, rig.tls()).ok();
            MountState before = rig.stateOf(mp);
            Files.createDirectories(mp.resolve("io"));

            AtomicLong lastOk = new AtomicLong(System.nanoTime());
            AtomicBoolean stop = new AtomicBoolean();
            Thread io = new Thread(() -> {
                for (int i = 0; !stop.get(); i++) {
                    // Each round creates, writes, fsyncs and reads back a new file: all need the server.
                    Path f = mp.resolve("io/f" + i);
                    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                        ch.write(ByteBuffer.wrap(("round " + i).getBytes(StandardCharsets.UTF_8)));
                        ch.force(true);
                        if (Files.readString(f).equals("round " + i)) {
                            lastOk.set(System.nanoTime());
                        }
                    } catch (Exception e) {
                        // A hard mount waits rather than fails; anything else shows as no progress.
                    }
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "io");
            io.setDaemon(true);
            io.start();
            Thread.sleep(1500);

            ProcessRef old = before.proxyProcess();
            assertTrue(old.signal("STOP"));
            long t0 = System.nanoTime();
            Thread.sleep(1000);
            assertTrue(System.nanoTime() - lastOk.get() > TimeUnit.MILLISECONDS.toNanos(500), "I/O is stuck");

            long resumed = -1;
            long replaced = -1;
            while (System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(60)) {
                MountState st = rig.stateOf(mp);
                if (replaced < 0 && st != null && !before.proxyPid.equals(st.proxyPid)) {
                    replaced = (System.nanoTime() - t0) / 1_000_000;
                }
                if (replaced >= 0 && lastOk.get() > t0) {
                    resumed = (lastOk.get() - t0) / 1_000_000;
                    break;
                }
                Thread.sleep(50);
            }
            stop.set(true);
            System.out.println("MEASURE hung proxy (SIGSTOP) replaced after " + replaced + " ms; I/O resumed after "
                    + resumed + " ms");
            assertTrue(replaced > 0, "the stopped proxy was not replaced; watchdog log:\n" + rig.log("watchdog.log"));
            assertTrue(resumed > 0 && resumed < 30_000, "I/O resumed after " + resumed + " ms");
            assertTrue(old.awaitExit(5000), "the hung proxy was killed");
            MountState after = rig.stateOf(mp);
            assertEquals(before.tlsport, after.tlsport, "same port");
            assertEquals(1, after.proxyRestarts);
            assertTrue(after.proxyLastRestartReason.startsWith("hung"), after.proxyLastRestartReason);
            assertTrue(rig.log("watchdog.log").contains("failed its health check"), rig.log("watchdog.log"));
            io.join(30_000);
            assertFalse(io.isAlive());
            rig.umount(mp).ok();
            rig.awaitGone(mp, after, 5000);
        }
    }
}
