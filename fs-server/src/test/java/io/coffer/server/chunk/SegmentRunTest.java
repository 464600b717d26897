package io.coffer.server.chunk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Records stored one after another, read back with one direct read: same bytes, same checks. */
class SegmentRunTest extends SegmentStoreTestSupport {
    @Test
    void aRunReadsWhatEachRecordReadsAlone() throws IOException {
        store = new SegmentChunkStore(dir, 64L << 20);
        List<SealedChunk> rs = records(16, 65_552, 5, 1);
        store.append(List.of(new SealedChunk(new ChunkKey(7, 4, 0, 1), ByteBuffer.wrap(new byte[1234]))));
        List<byte[]> locs = store.append(rs);
        store.sync();
        long before = store.runsRead();
        try (ChunkStore.Run run = store.readRun(keys(rs), locs)) {
            assertNotNull(run, "records appended together are read as one run");
            assertEquals(16, run.payloads().size());
            for (int i = 0; i < rs.size(); i++) {
                assertTrue(ByteBuffer.wrap(bytes(rs.get(i).payload())).equals(run.payloads().get(i)), "record " + i);
                assertTrue(store.read(rs.get(i).key(), locs.get(i)).equals(run.payloads().get(i)));
            }
        }
        assertEquals(before + 1, store.runsRead());
        // Appended but not yet synced: the kernel writes the dirty pages back before a direct read.
        List<SealedChunk> fresh = records(4, 70_000, 6, 2);
        List<byte[]> freshLocs = store.append(fresh);
        try (ChunkStore.Run run = store.readRun(keys(fresh), freshLocs)) {
            assertNotNull(run);
            for (int i = 0; i < fresh.size(); i++) {
                assertTrue(ByteBuffer.wrap(bytes(fresh.get(i).payload())).equals(run.payloads().get(i)), "fresh " + i);
            }
        }
    }

    @Test
    void recordsNotOneAfterAnotherAreLeftToSingleReads() throws IOException {
        store = new SegmentChunkStore(dir, 64L << 20);
        List<SealedChunk> rs = records(6, 65_552, 5, 3);
        List<byte[]> locs = store.append(rs);
        List<byte[]> gap = new ArrayList<>(locs);
        gap.remove(2);
        List<ChunkKey> gapKeys = new ArrayList<>(keys(rs));
        gapKeys.remove(2);
        assertNull(store.readRun(gapKeys, gap), "a gap in the run");
        List<byte[]> swapped = new ArrayList<>(locs);
        swapped.set(0, locs.get(1));
        swapped.set(1, locs.get(0));
        assertNull(store.readRun(keys(rs), swapped), "out of order");
        assertNull(store.readRun(keys(rs).subList(0, 1), locs.subList(0, 1)), "a single record");
        // More than one READ's worth.
        List<SealedChunk> many = records(19, 65_552, 8, 4);
        assertNull(store.readRun(keys(many), store.append(many)), "larger than a run");
    }

    @Test
    void aRunAcrossTwoSegmentsIsLeftToSingleReads() throws IOException {
        store = new SegmentChunkStore(dir, 200_000);
        List<SealedChunk> rs = records(5, 65_552, 5, 5);
        List<byte[]> locs = new ArrayList<>();
        for (SealedChunk c : rs) {
            locs.addAll(store.append(List.of(c)));
        }
        assertNull(store.readRun(keys(rs), locs));
        for (int i = 0; i < rs.size(); i++) {
            assertTrue(ByteBuffer.wrap(bytes(rs.get(i).payload())).equals(store.read(rs.get(i).key(), locs.get(i))));
        }
    }

    @Test
    void aRecordOfAnotherChunkInTheRunIsAnError() throws IOException {
        store = new SegmentChunkStore(dir, 64L << 20);
        List<SealedChunk> rs = records(4, 65_552, 5, 6);
        List<byte[]> locs = store.append(rs);
        List<ChunkKey> wrong = new ArrayList<>(keys(rs));
        ChunkKey k = wrong.get(2);
        wrong.set(2, new ChunkKey(k.fs(), k.inode(), k.index(), k.version() + 1)); // a stale reference
        IOException e = assertThrows(IOException.class, () -> store.readRun(wrong, locs));
        assertTrue(e.getMessage().contains("belongs to"), e.getMessage());
        // The buffer went back: later runs still read.
        for (int i = 0; i < 8; i++) {
            try (ChunkStore.Run run = store.readRun(keys(rs), locs)) {
                assertNotNull(run, "run " + i);
            }
        }
    }

    @Test
    void aSegmentCutShortInsideTheRunIsAnError() throws IOException {
        store = new SegmentChunkStore(dir, 64L << 20);
        List<SealedChunk> rs = records(4, 65_552, 5, 7);
        List<byte[]> locs = store.append(rs);
        store.sync();
        Path seg;
        try (var s = Files.list(dir)) {
            seg = s.filter(p -> p.getFileName().toString().startsWith("seg-")).sorted().reduce((a, b) -> b).orElseThrow();
        }
        ByteBuffer last = ByteBuffer.wrap(locs.get(locs.size() - 1));
        long lastEnd = last.getLong(4) + last.getInt(12);
        try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.WRITE)) {
            ch.truncate(lastEnd - 1000);
        }
        IOException e = assertThrows(IOException.class, () -> store.readRun(keys(rs), locs));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void withoutDirectReadsEveryRecordIsReadAlone() throws IOException {
        store = new SegmentChunkStore(dir, 64L << 20);
        store.disableDirectReads();
        List<SealedChunk> rs = records(4, 65_552, 5, 8);
        List<byte[]> locs = store.append(rs);
        assertNull(store.readRun(keys(rs), locs));
        assertEquals(0, store.runsRead());
    }

    @Test
    void concurrentRunsNeverShareABuffer() throws Exception {
        store = new SegmentChunkStore(dir, 64L << 20);
        List<List<SealedChunk>> files = new ArrayList<>();
        List<List<byte[]>> locs = new ArrayList<>();
        for (int f = 0; f < 6; f++) {
            List<SealedChunk> rs = records(16, 65_552, 10 + f, 20 + f);
            files.add(rs);
            locs.add(store.append(rs));
        }
        List<Thread> threads = new ArrayList<>();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int f = 0; f < 6; f++) {
            int ff = f;
            Thread t = new Thread(() -> {
                try {
                    for (int round = 0; round < 20; round++) {
                        try (ChunkStore.Run run = store.readRun(keys(files.get(ff)), locs.get(ff))) {
                            List<SealedChunk> rs = files.get(ff);
                            for (int i = 0; i < rs.size(); i++) {
                                ByteBuffer got = run != null ? run.payloads().get(i) : store.read(rs.get(i).key(), locs.get(ff).get(i));
                                if (!ByteBuffer.wrap(bytes(rs.get(i).payload())).equals(got)) {
                                    throw new AssertionError("file " + ff + " record " + i + " round " + round);
                                }
                            }
                        }
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertTrue(errors.isEmpty(), errors.toString());
        assertTrue(store.runsRead() > 0);
    }
}
