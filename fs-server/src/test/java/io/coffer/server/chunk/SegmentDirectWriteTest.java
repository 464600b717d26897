package io.coffer.server.chunk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Large appends written with O_DIRECT on block boundaries, next to small ones written through
 * the page cache: every record reads back as written, runs still read across the zeros between
 * appends, and compaction finds the records that follow those zeros.
 */
class SegmentDirectWriteTest extends SegmentStoreTestSupport {
    private static long offset(byte[] locator) {
        return ByteBuffer.wrap(locator).getLong(4);
    }

    private static long end(byte[] locator) {
        ByteBuffer l = ByteBuffer.wrap(locator);
        return l.getLong(4) + l.getInt(12);
    }

    private void assertReadsBack(List<SealedChunk> rs, List<byte[]> locs) throws IOException {
        for (int i = 0; i < rs.size(); i++) {
            assertArrayEquals(bytes(rs.get(i).payload()), bytes(store.read(rs.get(i).key(), locs.get(i))),
                    "record " + rs.get(i).key());
        }
    }

    @Test
    void largeAppendsStartOnABlockAndReadBackNextToSmallOnes() throws IOException {
        store = new SegmentChunkStore(dir, 64L << 20);
        List<SealedChunk> small1 = records(1, 1234, 1, 1);
        List<SealedChunk> large1 = records(16, 65_552, 2, 2);
        List<SealedChunk> small2 = records(2, 3000, 3, 3);
        List<SealedChunk> large2 = records(5, 65_552, 4, 4);
        List<byte[]> l1 = store.append(small1);
        List<byte[]> l2 = store.append(large1);
        List<byte[]> l3 = store.append(small2);
        List<byte[]> l4 = store.append(large2);
        assertEquals(2, store.directWrites(), "the two large appends went direct");
        assertEquals(1234 + SegmentChunkStore.HEADER, end(l1.get(0)), "a small append follows on");
        assertEquals(0, offset(l2.get(0)) % 4096, "a direct append starts on a block");
        assertTrue(offset(l3.get(0)) % 4096 == 0 && offset(l3.get(0)) >= end(l2.get(15)),
                "what follows a direct append starts past its last block");
        assertEquals(0, offset(l4.get(0)) % 4096);
        for (int i = 1; i < 16; i++) {
            assertEquals(end(l2.get(i - 1)), offset(l2.get(i)), "records of one append lie one after another");
        }
        assertReadsBack(small1, l1);
        assertReadsBack(large1, l2);
        assertReadsBack(small2, l3);
        assertReadsBack(large2, l4);
        store.sync();

        // After a restart (a new active segment), the records still read back.
        store.close();
        store = new SegmentChunkStore(dir, 64L << 20);
        assertReadsBack(large1, l2);
        assertReadsBack(small2, l3);
    }

    @Test
    void aRunReadsAcrossTheZerosBetweenTwoDirectAppends() throws IOException {
        store = new SegmentChunkStore(dir, 64L << 20);
        List<SealedChunk> a = records(8, 65_552, 5, 5);
        List<SealedChunk> b = records(8, 65_552, 6, 6);
        List<byte[]> la = store.append(a);
        List<byte[]> lb = store.append(b);
        assertTrue(offset(lb.get(0)) > end(la.get(7)), "zeros lie between the two appends");
        List<SealedChunk> rs = new ArrayList<>(a.subList(4, 8));
        rs.addAll(b.subList(0, 4));
        List<byte[]> locs = new ArrayList<>(la.subList(4, 8));
        locs.addAll(lb.subList(0, 4));
        try (ChunkStore.Run run = store.readRun(keys(rs), locs)) {
            assertNotNull(run, "one run across the gap");
            for (int i = 0; i < rs.size(); i++) {
                assertArrayEquals(bytes(rs.get(i).payload()), bytes(run.payloads().get(i)), "record " + i);
            }
        }
        assertEquals(1, store.runsRead());
    }

    @Test
    void withoutDirectWritesRecordsFollowOneAnother() throws IOException {
        store = new SegmentChunkStore(dir, 64L << 20);
        store.disableDirectWrites();
        List<byte[]> l1 = store.append(records(1, 1234, 1, 1));
        List<SealedChunk> large = records(16, 65_552, 2, 2);
        List<byte[]> l2 = store.append(large);
        assertEquals(0, store.directWrites());
        assertEquals(end(l1.get(0)), offset(l2.get(0)));
        assertReadsBack(large, l2);
    }

    /**
     * Compaction walks a segment record by record. A walk that stopped at the first zeros, as
     * it stops at a torn record, would miss the live records after them and delete the segment
     * with them.
     */
    @Test
    void compactionMovesTheRecordsThatFollowTheZeros() throws IOException {
        store = new SegmentChunkStore(dir, 64L << 20);
        List<SealedChunk> all = new ArrayList<>();
        List<byte[]> locs = new ArrayList<>();
        for (int round = 0; round < 3; round++) {
            List<SealedChunk> small = records(1, 2000 + round, 10 + round, round);
            List<SealedChunk> large = records(6, 65_552, 20 + round, 10 + round);
            all.addAll(small);
            locs.addAll(store.append(small));
            all.addAll(large);
            locs.addAll(store.append(large));
        }
        assertEquals(3, store.directWrites());
        store.sync();
        store.close();
        // Reopened, the old segment is no longer the one appended to; keep a few records alive,
        // among them the last ones, which lie behind two stretches of zeros.
        store = new SegmentChunkStore(dir, 64L << 20);
        Map<ChunkKey, byte[]> live = new HashMap<>();
        for (int i : new int[] {1, 7, 13, all.size() - 1}) {
            live.put(all.get(i).key(), locs.get(i));
            store.markLive(locs.get(i));
        }
        Map<ChunkKey, byte[]> moved = Collections.synchronizedMap(new HashMap<>());
        long freed = store.compact(0.5, new SegmentChunkStore.Relocator() {
            @Override
            public boolean isLive(ChunkKey key, byte[] locator) {
                return live.containsKey(key) && java.util.Arrays.equals(live.get(key), locator);
            }

            @Override
            public boolean relocate(ChunkKey key, byte[] oldLocator, byte[] newLocator) {
                moved.put(key, newLocator);
                return true;
            }
        }, () -> { });
        assertTrue(freed > 0, "the old segment was reclaimed");
        assertEquals(live.keySet(), moved.keySet(), "every live record was moved, those after the zeros too");
        for (int i = 0; i < all.size(); i++) {
            byte[] to = moved.get(all.get(i).key());
            if (to != null) {
                assertArrayEquals(bytes(all.get(i).payload()), bytes(store.read(all.get(i).key(), to)));
            }
        }
        try (var s = Files.list(dir)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().equals("seg-00000001.log")),
                    "the compacted segment is gone");
        }
    }

    @Test
    void smallAndLargeAppendsFromManyThreadsAllReadBack() throws Exception {
        store = new SegmentChunkStore(dir, 8L << 20); // small segments: appends also cross to new ones
        ExecutorService pool = Executors.newFixedThreadPool(6);
        List<List<SealedChunk>> written = Collections.synchronizedList(new ArrayList<>());
        List<List<byte[]>> where = Collections.synchronizedList(new ArrayList<>());
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < 12; i++) {
                        boolean large = (i + thread) % 2 == 0;
                        List<SealedChunk> rs = large
                                ? records(5, 65_552, 100 * thread + i, 1000L * thread + i)
                                : records(3, 500 + 37 * i, 100 * thread + i, 1000L * thread + i);
                        List<byte[]> locs = store.append(rs);
                        assertReadsBack(rs, locs);
                        synchronized (written) {
                            written.add(rs);
                            where.add(locs);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        assertEquals(36, store.directWrites());
        // No append overwrote another's records, nor the zeros it left another's.
        for (int i = 0; i < written.size(); i++) {
            assertReadsBack(written.get(i), where.get(i));
        }
    }
}
