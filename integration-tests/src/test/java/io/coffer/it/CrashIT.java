package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The durability contract under SIGKILL: a program writes 1 MiB at a time with fsync after each;
 * the server is killed mid-way and restarted. Everything fsync acknowledged is there at once (read
 * through a second, fresh mount before the writer resends anything), and the writer itself
 * finishes without an error, its unacknowledged data resent by its client.
 *
 * <p>The writer is its own process: a process holding an open file on a hard-mounted file system
 * whose server is down blocks in close(2), so the test JVM must hold none while it starts the
 * server again.
 */
class CrashIT {
    @TempDir
    Path work;

    static byte[] block(int i) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        ByteBuffer b = ByteBuffer.allocate(1 << 20);
        for (int j = 0; j < 32768; j++) {
            b.put(md.digest((i + ":" + j).getBytes(StandardCharsets.US_ASCII)));
        }
        return b.array();
    }

    static void assertBlocks(Path f, int from, int to) throws Exception {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            assertTrue(ch.size() >= (long) to << 20, "size " + ch.size() + " < " + to + " MiB");
            for (int i = from; i < to; i++) {
                ByteBuffer got = ByteBuffer.allocate(1 << 20);
                long pos = (long) i << 20;
                while (got.hasRemaining()) {
                    int n = ch.read(got, pos + got.position());
                    if (n < 0) {
                        break;
                    }
                }
                assertArrayEquals(block(i), got.array(), "block " + i + " lost or damaged");
            }
        }
    }

    @Test
    void fsyncedDataSurvivesKill9AndTheWriterCarriesOn() throws Exception {
        Coffer.requireFuse();
        Path script = work.resolve("fsync_writer.py");
        try (var in = CrashIT.class.getResourceAsStream("/fsync_writer.py")) {
            Files.copy(in, script);
        }
        try (Coffer c = new Coffer(work)) {
            Coffer.Server server = c.server();
            String fs = server.createFs(Coffer.defaultFsArgs());
            String opts = "addr=127.0.0.1,port=" + server.port;
            Path mnt = c.mount(fs, opts);
            int blocks = 120;
            Process writer = new ProcessBuilder("/usr/bin/python3", script.toString(), mnt.resolve("journal.bin").toString(),
                    Integer.toString(blocks)).redirectErrorStream(true).start();
            AtomicInteger acked = new AtomicInteger();
            CompletableFuture<String> outcome = CompletableFuture.supplyAsync(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(writer.getInputStream()))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        if (line.startsWith("ACK ")) {
                            acked.set(Integer.parseInt(line.substring(4)) + 1);
                        } else {
                            return line;
                        }
                    }
                    return "EOF";
                } catch (Exception e) {
                    return "reader failed: " + e;
                }
            });
            long deadline = System.currentTimeMillis() + 120_000;
            while (acked.get() < 30) {
                assertTrue(!outcome.isDone(), "writer stopped early: " + outcome.getNow(null));
                assertTrue(System.currentTimeMillis() < deadline, "writer too slow");
                Thread.sleep(2);
            }
            server.kill9();
            int durable = acked.get();
            Thread.sleep(1000);
            c.restart(server);

            // Every block acknowledged before the kill, read by a client that never saw the writes.
            Path other = c.mount(fs, opts);
            assertBlocks(other.resolve("journal.bin"), 0, durable);

            assertEquals("DONE", outcome.get(5, TimeUnit.MINUTES), "the writer failed after the restart");
            assertTrue(writer.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, writer.exitValue());
            assertEquals(blocks, acked.get());
            Coffer.afterCacheTimeout();
            Coffer.dropCaches();
            assertEquals((long) blocks << 20, Files.size(other.resolve("journal.bin")));
            assertBlocks(other.resolve("journal.bin"), 0, blocks);
            c.umount(other);
            c.umount(mnt);
        }
    }
}
