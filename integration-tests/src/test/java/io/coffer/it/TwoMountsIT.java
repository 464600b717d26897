package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two client daemons on one file system see each other's creates, writes, renames and deletes
 * after close and open. Attributes may be cached for the attribute timeout (1 s, like NFS's
 * actimeo), so checks of sizes and names of entries already seen wait for it.
 */
class TwoMountsIT {
    @TempDir
    Path work;

    /** A server with one file system, mounted twice (two client daemons). */
    static Path[] twoMounts(Coffer c) throws Exception {
        return twoMounts(c, "");
    }

    /** The same, with {@code firstExtra} appended to the first mount's options. */
    static Path[] twoMounts(Coffer c, String firstExtra) throws Exception {
        Coffer.Server server = c.server();
        String fs = server.createFs(Coffer.defaultFsArgs());
        String opts = "addr=127.0.0.1,port=" + server.port;
        return new Path[] {c.mount(fs, opts + firstExtra), c.mount(fs, opts)};
    }

    @Test
    void closeToOpenConsistencyBetweenTwoClients() throws Exception {
        Coffer.requireFuse();
        try (Coffer c = new Coffer(work)) {
            Path[] ab = twoMounts(c);
            Path a = ab[0];
            Path b = ab[1];

            Files.writeString(a.resolve("shared.txt"), "first version\n");
            assertEquals("first version\n", Files.readString(b.resolve("shared.txt")), "create seen by the other client");

            Files.writeString(a.resolve("shared.txt"), "second, longer version of the text\n");
            Coffer.afterCacheTimeout();
            assertEquals("second, longer version of the text\n", Files.readString(b.resolve("shared.txt")),
                    "rewrite seen after open");

            Files.writeString(b.resolve("shared.txt"), "short\n");
            Coffer.afterCacheTimeout();
            assertEquals("short\n", Files.readString(a.resolve("shared.txt")), "shrinking seen the other way");

            Files.createDirectory(a.resolve("dir"));
            Files.move(a.resolve("shared.txt"), a.resolve("dir/renamed.txt"));
            Coffer.afterCacheTimeout();
            assertFalse(Files.exists(b.resolve("shared.txt")), "rename: old name gone for the other client");
            assertEquals("short\n", Files.readString(b.resolve("dir/renamed.txt")));

            Files.delete(b.resolve("dir/renamed.txt"));
            Coffer.afterCacheTimeout();
            assertFalse(Files.exists(a.resolve("dir/renamed.txt")), "delete seen by the other client");
            try (var s = Files.list(a.resolve("dir"))) {
                assertEquals(0, s.count());
            }

            // Appends from both sides, each closed before the other opens.
            for (int i = 0; i < 5; i++) {
                Path side = i % 2 == 0 ? a : b;
                Files.writeString(side.resolve("log"), "line " + i + "\n", StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
                Coffer.afterCacheTimeout();
            }
            assertEquals("line 0\nline 1\nline 2\nline 3\nline 4\n", Files.readString(a.resolve("log")));
            assertTrue(Files.readString(b.resolve("log")).endsWith("line 4\n"));
            c.umount(a);
            c.umount(b);
        }
    }

    /**
     * A log kept open by its writer: what it writes reaches the server within seconds, as with a
     * kernel's write-back of dirty pages, so another client sees the lines before the writer
     * closes (the writing mount gathers small writes and used to hold them until close).
     */
    @Test
    void linesOfALogKeptOpenReachTheOtherMountWithinSeconds() throws Exception {
        Coffer.requireFuse();
        try (Coffer c = new Coffer(work)) {
            Path[] ab = twoMounts(c);
            Path a = ab[0];
            Path b = ab[1];
            try (FileChannel log = FileChannel.open(a.resolve("app.log"),
                    StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                log.write(ByteBuffer.wrap("started\n".getBytes(StandardCharsets.UTF_8)));
                long t0 = System.nanoTime();
                String seen = "";
                while (!seen.equals("started\n") && System.nanoTime() - t0 < 30_000_000_000L) {
                    Thread.sleep(250);
                    seen = Files.readString(b.resolve("app.log"));
                }
                long waited = (System.nanoTime() - t0) / 1_000_000;
                assertEquals("started\n", seen, "the other mount never saw the line while the log was open");
                assertTrue(waited < 15_000, "seen after " + waited + " ms; write-back is due within ~7 s");
                assertTrue(log.isOpen());
            }
            c.umount(a);
            c.umount(b);
        }
    }

    /**
     * tar, cp -p and rsync set times, owner and mode through the open file just before close; the
     * writing mount sends them with the data at close. Its own processes see them at once, the
     * other mount after the close, and a chmod of a file no one has open goes out at once.
     */
    @Test
    void attributesSetThroughAnOpenFileShowAtOnceHereAndAfterCloseThere() throws Exception {
        Coffer.requireFuse();
        try (Coffer c = new Coffer(work)) {
            Path[] ab = twoMounts(c);
            Path a = ab[0];
            Path b = ab[1];
            String script = String.join("\n",
                    "import os, sys",
                    "p = sys.argv[1]",
                    "fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)",
                    "os.write(fd, b'payload\\n')",
                    "os.utime(fd, ns=(1600000000123456789, 1500000000987654321))",
                    "os.fchown(fd, 1234, 5678)",
                    "os.fchmod(fd, 0o640)",
                    "st = os.stat(p)",
                    "print('open', oct(st.st_mode & 0o7777), st.st_uid, st.st_gid, st.st_mtime_ns, st.st_size)",
                    "os.close(fd)",
                    "st = os.stat(p)",
                    "print('closed', oct(st.st_mode & 0o7777), st.st_uid, st.st_gid, st.st_mtime_ns, st.st_size)",
                    // A write after held changes sends them first; the mode must not fall back.
                    "fd = os.open(p + '2', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)",
                    "os.fchmod(fd, 0o640)",
                    "os.write(fd, b'x')",
                    "st = os.stat(p + '2')",
                    "print('written after chmod', oct(st.st_mode & 0o7777), st.st_size)",
                    "os.close(fd)");
            Path py = work.resolve("setattrs.py");
            Files.writeString(py, script + "\n");
            String out = Coffer.run(java.time.Duration.ofSeconds(60),
                    java.util.List.of("/usr/bin/python3", py.toString(), a.resolve("held").toString())).ok().out();
            String expected = "0o640 1234 5678 1500000000987654321 8";
            assertEquals("open " + expected + "\nclosed " + expected + "\nwritten after chmod 0o640 1\n", out,
                    "the writing mount's own view");
            Coffer.afterCacheTimeout();
            String there = Coffer.sh("stat -c '%a %u %g %Y %s' " + b.resolve("held")).ok().out().trim();
            assertEquals("640 1234 5678 1500000000 8", there, "the other mount after the close");
            assertEquals("payload\n", Files.readString(b.resolve("held")));

            Coffer.sh("chmod 604 " + a.resolve("held")).ok();
            Coffer.afterCacheTimeout();
            assertEquals("604", Coffer.sh("stat -c '%a' " + b.resolve("held")).ok().out().trim(),
                    "a chmod of a closed file goes to the server at once");
            c.umount(a);
            c.umount(b);
        }
    }
}
