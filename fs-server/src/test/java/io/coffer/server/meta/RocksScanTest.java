package io.coffer.server.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Prefix scans stop at the prefix's end, also among deleted keys and at 0xFF bytes. */
class RocksScanTest {
    @TempDir
    Path dir;

    private static byte[] key(int a, long b) {
        return ByteBuffer.allocate(12).putInt(a).putLong(b).array();
    }

    private static List<Long> scan(MetaReader r, byte[] prefix, byte[] after) throws IOException {
        List<Long> seen = new ArrayList<>();
        r.scan(KeySpace.CHUNKS, prefix, after, (k, v) -> seen.add(ByteBuffer.wrap(k).getLong(4)));
        return seen;
    }

    @Test
    void prefixEndIsTheFirstKeyAfterThePrefix() {
        assertArrayEquals(new byte[] {1, 3}, RocksMetadataStore.prefixEnd(new byte[] {1, 2}));
        assertArrayEquals(new byte[] {2}, RocksMetadataStore.prefixEnd(new byte[] {1, (byte) 0xFF}));
        assertNull(RocksMetadataStore.prefixEnd(new byte[] {(byte) 0xFF, (byte) 0xFF}));
        assertNull(RocksMetadataStore.prefixEnd(new byte[0]));
    }

    @Test
    void scansSeeOnlyTheirPrefixAmongDeletedNeighbours() throws IOException {
        try (RocksMetadataStore m = new RocksMetadataStore(dir.resolve("meta"), false)) {
            m.write(t -> {
                for (int p : new int[] {1, 2, 3, 0xFFFFFFFF}) {
                    for (long i = 0; i < 100; i++) {
                        t.put(KeySpace.CHUNKS, key(p, i), new byte[] {1});
                    }
                }
                return null;
            });
            // Prefix 2 deleted entirely, prefix 1 in part: tombstones between live keys.
            m.write(t -> {
                for (long i = 0; i < 100; i++) {
                    t.delete(KeySpace.CHUNKS, key(2, i));
                }
                for (long i = 0; i < 100; i += 2) {
                    t.delete(KeySpace.CHUNKS, key(1, i));
                }
                return null;
            });
            byte[] one = ByteBuffer.allocate(4).putInt(1).array();
            byte[] two = ByteBuffer.allocate(4).putInt(2).array();
            byte[] last = ByteBuffer.allocate(4).putInt(0xFFFFFFFF).array();
            m.read(r -> {
                assertEquals(50, scan(r, one, null).size());
                assertEquals(List.of(), scan(r, two, null));
                assertEquals(100, scan(r, last, null).size(), "a prefix of 0xFF bytes has no upper bound");
                List<Long> rest = scan(r, one, key(1, 91));
                assertEquals(List.of(93L, 95L, 97L, 99L), rest, "a scan resumes after the key given");
                return null;
            });
            m.write(t -> {
                assertEquals(50, scan(t, one, null).size(), "inside a transaction too");
                assertEquals(List.of(), scan(t, two, null));
                return null;
            });
        }
    }
}
