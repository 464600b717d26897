package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
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

    @Test
    void closeToOpenConsistencyBetweenTwoClients() throws Exception {
        Coffer.requireFuse();
        try (Coffer c = new Coffer(work)) {
            Coffer.Server server = c.server();
            String fs = server.createFs(Coffer.defaultFsArgs());
            String opts = "addr=127.0.0.1,port=" + server.port;
            Path a = c.mount(fs, opts);
            Path b = c.mount(fs, opts);

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
                Files.writeString(side.resolve("log"), "line " + i + "\n", java.nio.file.StandardOpenOption.CREATE,
                        java.nio.file.StandardOpenOption.APPEND);
                Coffer.afterCacheTimeout();
            }
            assertEquals("line 0\nline 1\nline 2\nline 3\nline 4\n", Files.readString(a.resolve("log")));
            assertTrue(Files.readString(b.resolve("log")).endsWith("line 4\n"));
            c.umount(a);
            c.umount(b);
        }
    }
}
