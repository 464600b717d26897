package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server that goes away: a hard mount waits and carries on when it is back (NFS's hard mount);
 * a soft mount answers EIO after its timeout (-o soft,timeo=N).
 */
class HardSoftIT {
    @TempDir
    Path work;

    @Test
    void hardMountsWaitForTheServerAndSoftMountsGiveUpWithEio() throws Exception {
        Coffer.requireFuse();
        try (Coffer c = new Coffer(work)) {
            Coffer.Server server = c.server();
            String fs = server.createFs(Coffer.defaultFsArgs());
            Path hard = c.mount(fs, "addr=127.0.0.1,port=" + server.port);
            Path soft = c.mount(fs, "soft,timeo=3,addr=127.0.0.1,port=" + server.port);
            Files.writeString(hard.resolve("f"), "still here\n");
            Files.writeString(hard.resolve("g"), "also here\n");
            Coffer.afterCacheTimeout();

            server.kill9();
            Coffer.dropCaches();
            // A reader on the hard mount blocks while the server is down...
            Process reader = new ProcessBuilder("cat", hard.resolve("f").toString()).redirectErrorStream(true).start();
            long t0 = System.nanoTime();
            Coffer.Result r = Coffer.run(Duration.ofSeconds(30), List.of("cat", soft.resolve("g").toString()));
            long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
            assertNotEquals(0, r.exit(), "the soft mount read should fail while the server is down");
            assertTrue(r.err().contains("Input/output error"), r.err());
            assertTrue(seconds >= 2 && seconds <= 15, "soft mount gave up after " + seconds + " s");
            assertFalse(reader.waitFor(1, TimeUnit.SECONDS), "the hard mount reader must wait, not fail");

            // ...and completes once the server is back.
            c.restart(server);
            assertTrue(reader.waitFor(60, TimeUnit.SECONDS), "the hard mount reader did not resume");
            assertEquals(0, reader.exitValue());
            assertEquals("still here\n", new String(reader.getInputStream().readAllBytes()));
            assertEquals("also here\n", Files.readString(soft.resolve("g")), "the soft mount works again too");
            c.umount(soft);
            c.umount(hard);
        }
    }
}
