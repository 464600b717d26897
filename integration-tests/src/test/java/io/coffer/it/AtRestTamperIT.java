package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An attacker with the server's disk edits chunk records in the segment files: a flipped bit, two
 * chunks of one file swapped, chunks swapped between files, a segment cut short, a chunk rolled
 * back to an older copy of itself (once as it was, once with its header patched to the current
 * version so that only the cryptographic binding can notice). Every read of an affected range
 * through a fresh kernel mount must fail with EIO, never return other bytes, and the server log
 * must name the file (fs id and inode).
 *
 * <p>The victims are written, then the server is restarted so they sit in a segment nothing
 * appends to any more (each start opens a new one), and that segment is edited under the
 * running server: its reads are positional, so they see the edits.
 */
class AtRestTamperIT {
    private static final int CHUNK = 64 * 1024;

    @TempDir
    static Path work;
    static Coffer coffer;
    static Path probe;

    @BeforeAll
    static void setUp() throws Exception {
        Coffer.requireFuse();
        coffer = new Coffer(work);
        probe = AtRest.installProbe(work);
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (coffer != null) {
            coffer.close();
        }
    }

    static byte[] data(long seed, int length) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    static long inode(Path p) throws Exception {
        return ((Number) Files.getAttribute(p, "unix:ino")).longValue();
    }

    @Test
    void everyKindOfTamperingReadsAsEioAndIsLogged() throws Exception {
        Coffer.Server server = coffer.server();
        String fs = AtRest.createFs(server.port, true);
        String opts = "addr=127.0.0.1,port=" + server.port;
        Path mnt = coffer.mount(fs, opts);

        // Victims, each written and forced before the next so their records lie in this order.
        Map<String, Integer> chunks = new LinkedHashMap<>();
        chunks.put("rollback-header", 1);
        chunks.put("rollback-patched", 1);
        chunks.put("flip", 2);
        chunks.put("swap", 2);
        chunks.put("cross-a", 1);
        chunks.put("cross-b", 1);
        chunks.put("control", 8); // untouched; also keeps the old segment mostly live, so compaction leaves it alone
        chunks.put("truncate", 2); // last: the cut at the segment's end hits only this file
        Map<String, Long> ino = new LinkedHashMap<>();
        Map<String, byte[]> content = new LinkedHashMap<>();
        long seed = 1;
        for (Map.Entry<String, Integer> v : chunks.entrySet()) {
            Path f = mnt.resolve(v.getKey());
            byte[] d = data(seed++, v.getValue() * CHUNK);
            AtRest.writeSynced(f, d);
            if (v.getKey().startsWith("rollback")) {
                // A second version of chunk 0: the first stays in the segment as an older copy.
                byte[] newer = data(seed++, CHUNK);
                AtRest.overwriteSynced(f, 0, newer);
                d = newer;
            }
            content.put(v.getKey(), d);
            ino.put(v.getKey(), inode(f));
        }
        coffer.umount(mnt);
        server.stop();
        server.start();

        List<Path> segments = AtRest.segments(server.dataDir);
        assertTrue(segments.size() >= 2, "a new segment was started: " + segments);
        Path old = segments.get(segments.size() - 2);
        List<AtRest.Record> recs = AtRest.records(old);
        assertTrue(recs.stream().allMatch(r -> r.fsId().equals(fs)), "the old segment holds this file system only");

        // A flipped bit in chunk 0's ciphertext (past the 12-byte nonce).
        AtRest.flipBit(AtRest.latest(recs, ino.get("flip"), 0), 100);
        // Chunks 0 and 1 of one file exchanged (payloads only: the headers still match their places).
        AtRest.swapPayloads(AtRest.latest(recs, ino.get("swap"), 0), AtRest.latest(recs, ino.get("swap"), 1));
        // Chunk 0 of two files exchanged.
        AtRest.swapPayloads(AtRest.latest(recs, ino.get("cross-a"), 0), AtRest.latest(recs, ino.get("cross-b"), 0));
        // Rollbacks: the older record copied over the newer, as it was and with the header's version patched.
        for (String name : List.of("rollback-header", "rollback-patched")) {
            List<AtRest.Record> v = AtRest.versions(recs, ino.get(name), 0);
            assertEquals(2, v.size(), name + " has an older and a newer record");
            AtRest.rollBack(v.get(0), v.get(1), name.equals("rollback-patched"));
        }
        // The segment cut in the middle of the truncate file's last chunk.
        AtRest.Record last = AtRest.latest(recs, ino.get("truncate"), 1);
        assertEquals(recs.get(recs.size() - 1), last, "the truncate victim's chunk 1 ends the segment");
        try (var ch = java.nio.channels.FileChannel.open(old, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(last.payloadOffset() + last.payloadLength() / 2);
        }

        long logFrom = Files.size(server.log());
        Path fresh = coffer.mount(fs, opts);
        Map<String, long[]> affected = new LinkedHashMap<>();
        affected.put("flip", new long[] {0});
        affected.put("swap", new long[] {0, 1});
        affected.put("cross-a", new long[] {0});
        affected.put("cross-b", new long[] {0});
        affected.put("rollback-header", new long[] {0});
        affected.put("rollback-patched", new long[] {0});
        affected.put("truncate", new long[] {1});
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, long[]> a : affected.entrySet()) {
            for (long index : a.getValue()) {
                String r = AtRest.pread(probe, fresh.resolve(a.getKey()), index * CHUNK, CHUNK);
                if (!r.equals("EIO")) {
                    problems.add(a.getKey() + " chunk " + index + ": " + r);
                }
            }
        }
        assertEquals(List.of(), problems, "each tampered range reads as EIO");

        String control = AtRest.pread(probe, fresh.resolve("control"), 0, 8 * CHUNK);
        assertEquals("OK " + AtRest.sha256(content.get("control")) + " " + 8 * CHUNK, control,
                "untouched data still reads back");

        String log = AtRest.logSince(server.log(), logFrom);
        for (Map.Entry<String, long[]> a : affected.entrySet()) {
            for (long index : a.getValue()) {
                String names = fs + " inode " + ino.get(a.getKey()) + " index " + index;
                assertTrue(log.lines().anyMatch(l -> l.contains("ERROR") && l.contains(names)),
                        "the server log names " + names + " (" + a.getKey() + "):\n" + log);
            }
        }
        // Where the record's header still matches (payload swaps, flipped bits, the patched rollback),
        // only AES-GCM's tag and associated data (fs, inode, index, version) can have caught it.
        for (String name : List.of("flip", "swap", "cross-a", "cross-b", "rollback-patched")) {
            String names = fs + " inode " + ino.get(name) + " index 0";
            assertTrue(log.lines().anyMatch(l -> l.contains("chunk authentication failed") && l.contains(names)),
                    "the cipher caught " + name + ":\n" + log);
        }
    }
}
