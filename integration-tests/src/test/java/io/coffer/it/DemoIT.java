package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.mount.MountTable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/coffer demo}, twice (the second run reuses what runs), then {@code demo --stop}: a
 * TLS-only server, an encrypted file system, a mount through mount -t coffer -o tls, the file
 * read back, and its record on the server's disk shown as ciphertext.
 */
class DemoIT {
    @TempDir
    Path work;

    @Test
    void demoRunsTwiceAndStops() throws Exception {
        try (MountRig rig = new MountRig(work, null)) {
            Path data = work.resolve("demo");
            Path mnt = work.resolve("demo-mnt");
            rig.env.put("COFFER_DEMO_DIR", data.toString());
            rig.env.put("COFFER_DEMO_MOUNT", mnt.toString());
            rig.env.put("COFFER_DEMO_PORT", Integer.toString(Coffer.freePort()));
            rig.track(mnt);
            try {
                Coffer.Result first = rig.exec(Duration.ofMinutes(4), Coffer.launcher().toString(), "demo");
                System.out.println(first.out());
                assertEquals(0, first.exit(), first.err() + first.out());
                String out = first.out();
                assertTrue(out.contains("started with --tls-cert/--tls-key/--tls-ca") || out.contains("FALLBACK"), out);
                assertTrue(out.contains("mount -t coffer -o tls,addr=127.0.0.1"), out);
                assertTrue(out.contains("(encrypted at rest)"), out);
                assertTrue(out.contains("43 43 4b 31"), "the chunk record's magic in the hexdump: " + out);
                assertTrue(out.contains("appears in the server's files (" + data.resolve("server") + "): no"), out);
                assertTrue(MountTable.find(mnt).orElseThrow().isCoffer());
                assertTrue(Files.readString(mnt.resolve("hello.txt")).startsWith("Hello from Coffer"));

                Coffer.Result second = rig.exec(Duration.ofMinutes(4), Coffer.launcher().toString(), "demo");
                assertEquals(0, second.exit(), second.err() + second.out());
                assertTrue(second.out().contains("already running"), second.out());
                assertTrue(second.out().contains("reusing the file system named demo"), second.out());
                assertTrue(second.out().contains("Already mounted"), second.out());
            } finally {
                Coffer.Result stop = rig.exec(Duration.ofMinutes(2), Coffer.launcher().toString(), "demo", "--stop");
                assertEquals(0, stop.exit(), stop.err() + stop.out());
            }
            assertFalse(MountTable.find(mnt).isPresent());
            Coffer.Result after = rig.exec(Duration.ofMinutes(2), Coffer.launcher().toString(), "demo", "--stop");
            assertEquals(0, after.exit(), "stopping twice is harmless: " + after.err());
        }
    }
}
