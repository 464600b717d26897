package io.coffer.server.fs;

import io.coffer.server.meta.KeySpace;
import io.coffer.server.meta.MetadataStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A persistent monotonic counter handed out from in-memory blocks. A block is reserved in the
 * store before any number of it is used, so numbers never repeat across restarts (a crash only
 * leaves a gap).
 */
final class Counters {
    private final MetadataStore store;
    private final byte[] key;
    private final long block;
    private long next;
    private long limit;

    Counters(MetadataStore store, String name, long initial, long block) {
        this.store = store;
        this.key = name.getBytes(StandardCharsets.UTF_8);
        this.block = block;
        this.next = initial;
        this.limit = initial;
        this.initial = initial;
    }

    private final long initial;

    synchronized long next() throws IOException {
        if (next >= limit) {
            long[] range = store.write(t -> {
                byte[] v = t.getForUpdate(KeySpace.COUNTERS, key);
                long start = v == null ? initial : ByteBuffer.wrap(v).getLong();
                long end = start + block;
                t.put(KeySpace.COUNTERS, key, ByteBuffer.allocate(8).putLong(end).array());
                return new long[] {start, end};
            });
            next = range[0];
            limit = range[1];
        }
        return next++;
    }
}
