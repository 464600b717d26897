package io.coffer.bench.meta;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.h2.mvstore.Cursor;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.type.ByteArrayDataType;

/**
 * H2 MVStore. A commit persists every map of the store at once, so the puts of one
 * transaction and its commit must not interleave with another writer's puts: they share a
 * lock. The fsync runs outside that lock, so concurrent writers can share one fsync.
 */
final class MvStoreEngine implements MetaEngine {
    private final ReentrantLock writeLock = new ReentrantLock();
    private final MVStore store;
    private final MVMap<byte[], byte[]> map;

    MvStoreEngine(Path dir, long cacheBytes) {
        store = new MVStore.Builder()
                .fileName(dir.resolve("meta.mv").toString())
                .cacheSize((int) (cacheBytes >> 20))
                // We commit explicitly; the background writer would commit half-done transactions.
                .autoCommitDisabled()
                .open();
        map = store.openMap("kv", new MVMap.Builder<byte[], byte[]>()
                .keyType(ByteArrayDataType.INSTANCE)
                .valueType(ByteArrayDataType.INSTANCE));
    }

    @Override
    public void commitDurably(List<Put> puts) {
        commitNoSync(puts);
        store.sync();
    }

    @Override
    public void commitNoSync(List<Put> puts) {
        writeLock.lock();
        try {
            for (Put p : puts) {
                map.put(p.key(), p.value());
            }
            store.commit();
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public void sync() {
        store.sync();
    }

    @Override
    public byte[] get(byte[] key) {
        return map.get(key);
    }

    @Override
    public long[] scanPrefix(byte[] prefix) {
        long n = 0;
        long bytes = 0;
        Cursor<byte[], byte[]> c = map.cursor(prefix, Keys.prefixUpperBound(prefix), false);
        while (c.hasNext()) {
            byte[] k = c.next();
            if (!Keys.startsWith(k, prefix)) {
                break;
            }
            bytes += k.length + c.getValue().length;
            n++;
        }
        return new long[] {n, bytes};
    }

    @Override
    public void close() {
        store.close();
    }
}
