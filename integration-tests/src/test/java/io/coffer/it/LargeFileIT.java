package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A 1 GiB file of random bytes keeps its SHA-256 across unmount, remount and a server restart. */
class LargeFileIT {
    @TempDir
    Path work;

    @Test
    void gigabyteSurvivesRemountAndServerRestart() throws Exception {
        Coffer.requireFuse();
        try (Coffer c = new Coffer(work)) {
            Coffer.Server server = c.server();
            String fs = server.createFs(Coffer.defaultFsArgs());
            String opts = "addr=127.0.0.1,port=" + server.port;
            Path mnt = c.mount(fs, opts);
            Path f = mnt.resolve("big.bin");
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            SplittableRandom rnd = new SplittableRandom(20261127);
            byte[] block = new byte[1 << 20];
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                for (int i = 0; i < 1024; i++) {
                    rnd.nextBytes(block);
                    md.update(block);
                    ByteBuffer b = ByteBuffer.wrap(block);
                    while (b.hasRemaining()) {
                        ch.write(b);
                    }
                }
            }
            String expected = HexFormat.of().formatHex(md.digest());
            assertEquals(expected, Coffer.sha256(f), "read back in the same mount");

            c.umount(mnt);
            Path again = c.mount(fs, opts);
            assertEquals(expected, Coffer.sha256(again.resolve("big.bin")), "after unmount and remount");

            server.stop();
            c.restart(server);
            Coffer.dropCaches();
            assertEquals(expected, Coffer.sha256(again.resolve("big.bin")), "after a server restart, same mount");
            c.umount(again);
        }
    }
}
