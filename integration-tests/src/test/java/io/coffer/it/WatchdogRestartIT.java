package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.mount.MountState;
import io.coffer.mount.ProcessRef;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of a mount's proxy in the middle of copying 256 MiB into the mount: the watchdog starts
 * a new proxy on the same port, the client daemon reconnects and resends what the server had not
 * made stable, the copy completes and the file's checksum is right.
 */
class WatchdogRestartIT {
    private static final long SIZE = 256L << 20;

    @TempDir
    Path work;

    @Test
    void deadProxyIsRestartedOnItsPortDuringABigCopy() throws Exception {
        try (MountRig rig = new MountRig(work, null).startServer()) {
            String fs = rig.createFs();
            Path mp = rig.newMountpoint();
            rig.mount(fs + ":/", mp, rig.tls()).ok();
            MountState before = rig.stateOf(mp);
            // The watchdog builds the proxies' class archive once per build of the jars; a restart
            // measured while it trains would measure the training too.
            long deadline = System.currentTimeMillis() + 120_000;
            while (!rig.log("watchdog.log").contains("class archive") && System.currentTimeMillis() < deadline) {
                Thread.sleep(200);
            }

            Path src = work.resolve("source.bin");
            byte[] block = new byte[1 << 20];
            Random rnd = new Random(5);
            try (FileChannel out = FileChannel.open(src, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                for (long n = 0; n < SIZE; n += block.length) {
                    rnd.nextBytes(block);
                    out.write(ByteBuffer.wrap(block));
                }
            }
            String expected = Coffer.sha256(src);

            Path dst = mp.resolve("copy.bin");
            AtomicLong copied = new AtomicLong();
            CompletableFuture<Void> copy = CompletableFuture.runAsync(() -> {
                try (FileChannel in = FileChannel.open(src); FileChannel out = FileChannel.open(dst,
                        StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                    ByteBuffer b = ByteBuffer.allocateDirect(1 << 20);
                    while (in.read(b) > 0) {
                        b.flip();
                        while (b.hasRemaining()) {
                            copied.addAndGet(out.write(b));
                        }
                        b.clear();
                    }
                    out.force(true);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            while (copied.get() < (48L << 20)) {
                assertFalse(copy.isDone(), "the copy ended before the proxy was killed: " + copy);
                Thread.sleep(5);
            }
            ProcessRef old = before.proxyProcess();
            long t0 = System.nanoTime();
            old.kill();
            long killedAt = copied.get();

            MountState after = null;
            long back = -1;
            while ((System.nanoTime() - t0) < TimeUnit.SECONDS.toNanos(60)) {
                MountState st = rig.stateOf(mp);
                if (st != null && st.proxyPid != null && !st.proxyPid.equals(before.proxyPid) && st.proxyProcess().isAlive()
                        && Files.exists(Path.of(st.readyFile))) {
                    back = (System.nanoTime() - t0) / 1_000_000;
                    after = st;
                    break;
                }
                Thread.sleep(10);
            }
            assertNotNull(after, "no new proxy within 60 s; watchdog log:\n" + rig.log("watchdog.log"));
            long cpu = after.proxyProcess().cpuTicks() * 10;
            String restarted = rig.log("watchdog.log").lines().filter(l -> l.contains("restarted the proxy")).findFirst()
                    .orElse("");
            System.out.println("MEASURE proxy restart after kill -9 (listening again): " + back + " ms (killed at "
                    + (killedAt >> 20) + " MiB of 256); the new proxy had used " + cpu + " ms of CPU by then; load "
                    + Files.readString(Path.of("/proc/loadavg")).strip() + "; " + restarted);
            assertEquals(before.tlsport, after.tlsport, "same port");
            assertEquals(1, after.proxyRestarts);
            assertFalse(old.isAlive());

            copy.get(5, TimeUnit.MINUTES);
            Coffer.dropCaches();
            assertEquals(SIZE, Files.size(dst));
            assertEquals(expected, Coffer.sha256(dst), "the copied file's SHA-256");
            assertTrue(rig.log("watchdog.log").contains("restarted the proxy of " + mp), rig.log("watchdog.log"));
            assertTrue(back < 2000, "the proxy was back after " + back + " ms; the bound is 2000 ms; " + restarted);

            rig.umount(mp).ok();
            rig.awaitGone(mp, after, 5000);
        }
    }
}
