package io.coffer.server.chunk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.core.status.NoSpaceException;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Compaction and the appends still on their way to a reference. */
class SegmentCompactionTest extends SegmentStoreTestSupport {
    private static SealedChunk record(long ino, int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return new SealedChunk(new ChunkKey(7, ino, 0, seed), ByteBuffer.wrap(b));
    }

    /**
     * A write appends its record, then commits the reference to it. If the segment is left
     * behind in between (another append filled it) and is mostly dead, a compaction pass at that
     * moment finds the record unreferenced: it must not delete the segment under it.
     */
    @Test
    void aSegmentJustLeftBehindWaitsBeforeItIsCompacted() throws IOException {
        store = new SegmentChunkStore(dir, 1L << 20);
        byte[] dead = store.append(List.of(record(1, 900_000, 1))).get(0);
        store.release(dead); // overwritten since
        SealedChunk pending = record(2, 50_000, 2);
        byte[] pendingLoc = store.append(List.of(pending)).get(0);
        store.append(List.of(record(3, 200_000, 3))); // does not fit: the next segment begins
        assertEquals(2, store.segmentUsage().size());

        List<ChunkKey> committed = new ArrayList<>();
        List<ChunkKey> moved = new ArrayList<>();
        SegmentChunkStore.Relocator relocator = new SegmentChunkStore.Relocator() {
            @Override
            public boolean isLive(ChunkKey key, byte[] locator) {
                return committed.contains(key) && Arrays.equals(locator, pendingLoc);
            }

            @Override
            public boolean relocate(ChunkKey key, byte[] oldLocator, byte[] newLocator) {
                moved.add(key);
                return true;
            }
        };
        // The write of `pending` has not committed its reference yet.
        assertEquals(0, store.compact(0.5, relocator, () -> { }), "a segment left a moment ago is not compacted");
        assertArrayEquals(bytes(pending.payload()), bytes(store.read(pending.key(), pendingLoc)));

        // Later (the grace period over), the reference committed: the record is moved, the segment goes.
        committed.add(pending.key());
        store.retireGraceNanos = 0;
        assertTrue(store.compact(0.5, relocator, () -> { }) > 0);
        assertEquals(List.of(pending.key()), moved);
        assertEquals(1, store.segmentUsage().size());
    }

    /** A relocator for which the given locators are the live ones, recording what it moves. */
    private static SegmentChunkStore.Relocator liveAt(List<byte[]> live, List<ChunkKey> moved) {
        return new SegmentChunkStore.Relocator() {
            @Override
            public boolean isLive(ChunkKey key, byte[] locator) {
                return live.stream().anyMatch(l -> Arrays.equals(l, locator));
            }

            @Override
            public boolean relocate(ChunkKey key, byte[] oldLocator, byte[] newLocator) {
                moved.add(key);
                return true;
            }
        };
    }

    /**
     * Past the reserve, writes get ENOSPC and the segment they would have gone to is left, so
     * that compaction, which may still use the reserve, can free it once files are removed.
     */
    @Test
    void aFullDiskRefusesWritesButNotCompaction() throws IOException {
        store = new SegmentChunkStore(dir, 64L << 20);
        SealedChunk kept = record(1, 100_000, 1);
        byte[] keptLoc = store.append(List.of(kept)).get(0);
        byte[] removed = store.append(List.of(record(2, 900_000, 2))).get(0);
        store.reserve(Long.MAX_VALUE);
        assertThrows(NoSpaceException.class, () -> store.append(List.of(record(3, 4096, 3))));
        assertEquals(2, store.segmentUsage().size(), "the full segment was left for compaction");
        store.release(removed);
        store.retireGraceNanos = 0;
        List<ChunkKey> moved = new ArrayList<>();
        assertTrue(store.compact(0.5, liveAt(List.of(keptLoc), moved), () -> { }) > 0);
        assertEquals(List.of(kept.key()), moved);
        assertEquals(1, store.segmentUsage().size());
        assertThrows(NoSpaceException.class, () -> store.append(List.of(record(4, 4096, 4))));
        store.reserve(0);
        store.append(List.of(record(5, 4096, 5)));
    }

    private static long offsetOf(byte[] locator) {
        return ByteBuffer.wrap(locator).getLong(4);
    }

    /**
     * Appends {@code records} to a new store's first segment, spoils the header of the one at
     * {@code spoiled} with a few bytes that are no record, reopens the store (so that segment is
     * no longer the active one) and marks the others live; returns their locators.
     */
    private List<byte[]> segmentSpoiledAt(List<SealedChunk> records, int spoiled) throws IOException {
        store = new SegmentChunkStore(dir, 64L << 20);
        List<byte[]> locs = new ArrayList<>();
        for (SealedChunk r : records) {
            locs.add(store.append(List.of(r)).get(0));
        }
        store.close();
        try (FileChannel ch = FileChannel.open(dir.resolve("seg-00000001.log"), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}), offsetOf(locs.get(spoiled)));
        }
        store = new SegmentChunkStore(dir, 64L << 20);
        for (int i = 0; i < locs.size(); i++) {
            if (i != spoiled) {
                store.markLive(locs.get(i));
            }
        }
        return locs;
    }

    /**
     * A segment whose scan stops at bytes that are no record (a write that failed part way) while
     * live records follow is kept whole: deleting it would lose them.
     */
    @Test
    void aSegmentUnreadablePartWayWithLiveRecordsAfterIsKept() throws IOException {
        SealedChunk a = record(1, 10_000, 1);
        SealedChunk c = record(3, 10_000, 3);
        List<byte[]> locs = segmentSpoiledAt(List.of(a, record(2, 500_000, 2), c), 1);
        byte[] cLoc = locs.get(2);
        List<ChunkKey> moved = new ArrayList<>();
        assertEquals(0, store.compact(0.5, liveAt(List.of(locs.get(0), cLoc), moved), () -> { }));
        assertEquals(List.of(a.key()), moved, "what the scan reached was copied");
        assertArrayEquals(bytes(c.payload()), bytes(store.read(c.key(), cLoc)), "the record after is still there");
        assertEquals(0, store.compact(0.5, liveAt(List.of(cLoc), moved), () -> { }), "and is not scanned again");
        assertEquals(1, moved.size());
    }

    /** A torn record at the tail of a segment (a crash mid-append), with nothing live after it, does not keep it. */
    @Test
    void aTornTailDoesNotKeepASegment() throws IOException {
        SealedChunk a = record(1, 10_000, 1);
        List<byte[]> locs = segmentSpoiledAt(List.of(a, record(2, 500_000, 2)), 1);
        List<ChunkKey> moved = new ArrayList<>();
        assertTrue(store.compact(0.5, liveAt(List.of(locs.get(0)), moved), () -> { }) > 0);
        assertEquals(List.of(a.key()), moved);
        assertEquals(1, store.segmentUsage().size());
    }
}
