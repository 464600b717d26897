package io.coffer.server.chunk;

import io.coffer.core.status.IoException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/** An in-memory chunk store for unit tests. */
public final class MemoryChunkStore implements ChunkStore {
    private final Map<Long, Object[]> records = new ConcurrentHashMap<>();
    private final AtomicLong next = new AtomicLong(1);

    @Override
    public List<byte[]> append(List<SealedChunk> chunks) {
        List<byte[]> out = new ArrayList<>();
        for (SealedChunk c : chunks) {
            long id = next.getAndIncrement();
            ByteBuffer copy = ByteBuffer.allocate(c.payload().remaining());
            copy.put(c.payload().duplicate()).flip();
            records.put(id, new Object[] {c.key(), copy});
            out.add(ByteBuffer.allocate(8).putLong(id).array());
        }
        return out;
    }

    @Override
    public ByteBuffer read(ChunkKey key, byte[] locator) throws IoException {
        Object[] r = records.get(ByteBuffer.wrap(locator).getLong());
        if (r == null || !r[0].equals(key)) {
            throw new IoException("chunk " + key + " missing or mismatched");
        }
        return ((ByteBuffer) r[1]).duplicate();
    }

    @Override
    public void release(byte[] locator) {
        records.remove(ByteBuffer.wrap(locator).getLong());
    }

    @Override
    public void sync() {
    }

    @Override
    public long usedBytes() {
        long n = 0;
        for (Object[] r : records.values()) {
            n += ((ByteBuffer) r[1]).remaining();
        }
        return n;
    }

    /** Number of records held, for tests that check space is released. */
    public int size() {
        return records.size();
    }

    @Override
    public void close() {
    }
}
