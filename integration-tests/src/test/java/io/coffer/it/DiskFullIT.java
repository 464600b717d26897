package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server whose disk fills answers writes with ENOSPC, as a local file system does, keeps what
 * was written before, and goes on with everything that needs no new data space.
 */
class DiskFullIT {
    @TempDir
    Path work;

    @Test
    void writesGetNoSpaceAndEverythingElseGoesOn() throws Exception {
        Path data = Files.createDirectories(work.resolve("data"));
        assertEquals(0, Coffer.sh("mount -t tmpfs -o size=160m tmpfs " + data).exit(), "mount a small tmpfs");
        try (MountRig rig = new MountRig(work, null)) {
            rig.startServer();
            String fs = rig.createFs();
            Path mp = rig.newMountpoint();
            rig.mount(fs + ":/", mp, rig.tls()).ok();
            Coffer.sh("dd if=/dev/urandom of=" + mp + "/kept bs=1M count=4 conv=fsync status=none").ok();
            String kept = Coffer.sha256(mp.resolve("kept"));

            Coffer.Result dd = Coffer.sh("dd if=/dev/urandom of=" + mp + "/big bs=1M count=200 conv=fsync 2>&1");
            assertNotEquals(0, dd.exit());
            assertTrue(dd.out().contains("No space left on device"), dd.out());
            Coffer.Result py = Coffer.sh("python3 -c \"import os\nfd = os.open('" + mp + "/more', os.O_CREAT | os.O_WRONLY)\n"
                    + "try:\n    os.write(fd, b'x' * (1 << 20)); os.fsync(fd)\nexcept OSError as e:\n    print(e.strerror)\n"
                    + "finally:\n    try:\n        os.close(fd)\n    except OSError as e:\n        print('close', e.strerror)\"");
            assertTrue(py.out().contains("No space left on device"), "write or fsync: " + py.out() + py.err());

            // Names, metadata and files small enough to live in it go on.
            Files.writeString(mp.resolve("small"), "still here");
            Files.createDirectory(mp.resolve("dir"));
            Files.move(mp.resolve("small"), mp.resolve("dir/small"));
            assertEquals("still here", Files.readString(mp.resolve("dir/small")));
            Files.delete(mp.resolve("big"));
            Coffer.dropCaches();
            assertEquals(kept, Coffer.sha256(mp.resolve("kept")), "what was written before is intact");

            String log = Files.readString(work.resolve("server.log"));
            assertTrue(log.contains("the disk is full"), "the server says why");
            assertFalse(log.contains("server fault"), "a full disk is not a server fault");
            rig.umount(mp).ok();
        } finally {
            Coffer.run(Duration.ofSeconds(30), java.util.List.of("umount", "-l", data.toString()));
        }
    }
}
