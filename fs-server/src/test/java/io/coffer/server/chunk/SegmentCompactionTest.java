package io.coffer.server.chunk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
}
