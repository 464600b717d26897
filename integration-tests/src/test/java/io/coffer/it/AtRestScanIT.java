package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Encryption at rest, seen from the disk: known plaintext written through a kernel mount (file
 * content, file and directory names, a symlink target, an xattr name and value, each with its
 * own marker) must appear in no byte of any file under the server's data directory — RocksDB's
 * write-ahead log and tables, the segment files, the keystore. The same writes to a
 * {@code --no-encrypted} file system must be found by the same scan, which proves it looks in
 * the right places.
 */
class AtRestScanIT {
    @TempDir
    static Path work;
    static Coffer coffer;

    @BeforeAll
    static void setUp() {
        Coffer.requireFuse();
        coffer = new Coffer(work);
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (coffer != null) {
            coffer.close();
        }
    }

    /** One marker per kind of plaintext the file system stores. */
    static Map<String, String> markers(String tag) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String kind : List.of("content", "file-name", "dir-name", "symlink-target", "xattr-name", "xattr-value")) {
            m.put(kind, AtRest.marker(tag + "-" + kind));
        }
        return m;
    }

    /** Writes every marker through the mount: ~1 MiB of repeated content, names, a link, an xattr. */
    static void populate(Path mnt, Map<String, String> m) throws Exception {
        Path dir = Files.createDirectory(mnt.resolve("d-" + m.get("dir-name")));
        byte[] unit = (m.get("content") + "\n").getBytes(StandardCharsets.US_ASCII);
        byte[] content = new byte[(1 << 20) / unit.length * unit.length];
        for (int i = 0; i < content.length; i += unit.length) {
            System.arraycopy(unit, 0, content, i, unit.length);
        }
        Path file = dir.resolve("f-" + m.get("file-name"));
        AtRest.writeSynced(file, content);
        Files.createSymbolicLink(dir.resolve("link"), Path.of("/srv/target/" + m.get("symlink-target")));
        UserDefinedFileAttributeView x = Files.getFileAttributeView(file, UserDefinedFileAttributeView.class);
        x.write(m.get("xattr-name"), java.nio.ByteBuffer.wrap(m.get("xattr-value").getBytes(StandardCharsets.US_ASCII)));
        // Read everything back through the mount so the test knows the writes really happened.
        assertEquals(content.length, Files.size(file));
        assertEquals("/srv/target/" + m.get("symlink-target"), Files.readSymbolicLink(dir.resolve("link")).toString());
        assertTrue(x.list().contains(m.get("xattr-name")));
    }

    @Test
    void noPlaintextReachesTheDiskOfAnEncryptedFileSystem() throws Exception {
        Coffer.Server server = coffer.server();
        String encrypted = AtRest.createFs(server.port, true);
        String plain = AtRest.createFs(server.port, false);
        String opts = "addr=127.0.0.1,port=" + server.port;
        Map<String, String> secret = markers("E");
        Map<String, String> visible = markers("P");
        Path me = coffer.mount(encrypted, opts);
        Path mp = coffer.mount(plain, opts);
        populate(me, secret);
        populate(mp, visible);
        coffer.umount(me);
        coffer.umount(mp);
        // Replies already mean the changes are in RocksDB's log (and the data was fsync'ed); the
        // periodic sync runs every second. Wait one period so nothing is in flight.
        Thread.sleep(1200);

        List<String> all = new ArrayList<>(secret.values());
        all.addAll(visible.values());
        Map<Path, byte[]> live = AtRest.readAll(server.dataDir);
        assertTrue(live.keySet().stream().anyMatch(p -> p.getFileName().toString().endsWith(".log")
                && p.getParent().getFileName().toString().equals("meta")), "RocksDB's write-ahead log is scanned");
        assertTrue(live.keySet().stream().anyMatch(p -> p.getFileName().toString().startsWith("seg-")),
                "segment files are scanned");
        assertTrue(live.keySet().stream().anyMatch(p -> p.toString().contains("/kms/")), "keystore files are scanned");
        Map<String, List<Path>> hits = AtRest.scan(live, all);

        // The control: the unencrypted file system's markers are on the disk, each where it belongs.
        Path meta = server.dataDir.resolve("meta");
        Path chunks = server.dataDir.resolve("chunks");
        assertTrue(hits.get(visible.get("content")).stream().anyMatch(p -> p.startsWith(chunks)),
                "plain content is in the segment files: " + hits.get(visible.get("content")));
        for (String kind : List.of("file-name", "dir-name", "symlink-target", "xattr-name", "xattr-value")) {
            assertTrue(hits.get(visible.get(kind)).stream().anyMatch(p -> p.startsWith(meta)),
                    "the scan finds the unencrypted " + kind + " in the metadata store: " + hits.get(visible.get(kind)));
        }

        // The encrypted file system's markers are nowhere.
        for (Map.Entry<String, String> m : secret.entrySet()) {
            assertEquals(List.of(), hits.get(m.getValue()), "plaintext " + m.getKey() + " of the encrypted file system"
                    + " found on disk (" + AtRest.totalBytes(live) + " bytes in " + live.size() + " files scanned)");
        }

        // After a clean stop RocksDB has flushed its memtables into tables: scan those too.
        server.stop();
        Map<Path, byte[]> stopped = AtRest.readAll(server.dataDir);
        Map<String, List<Path>> after = AtRest.scan(stopped, secret.values());
        for (Map.Entry<String, String> m : secret.entrySet()) {
            assertEquals(List.of(), after.get(m.getValue()), "plaintext " + m.getKey() + " found after the stop");
        }
        assertFalse(stopped.isEmpty());
    }
}
