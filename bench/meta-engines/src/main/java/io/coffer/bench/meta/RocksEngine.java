package io.coffer.bench.meta;

import java.nio.file.Path;
import java.util.List;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksIterator;
import org.rocksdb.Slice;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/** RocksDB with its WAL; concurrent synced writers are grouped by RocksDB itself. */
final class RocksEngine implements MetaEngine {
    static {
        RocksDB.loadLibrary();
    }

    private final LRUCache cache;
    private final Options options;
    private final RocksDB db;
    private final WriteOptions synced = new WriteOptions().setSync(true);
    private final WriteOptions unsynced = new WriteOptions().setSync(false);
    private final ReadOptions reads = new ReadOptions();

    RocksEngine(Path dir, long cacheBytes) throws Exception {
        cache = new LRUCache(cacheBytes);
        options = new Options()
                .setCreateIfMissing(true)
                .setTableFormatConfig(new BlockBasedTableConfig().setBlockCache(cache));
        db = RocksDB.open(options, dir.toString());
    }

    @Override
    public void commitDurably(List<Put> puts) throws Exception {
        write(puts, synced);
    }

    @Override
    public void commitNoSync(List<Put> puts) throws Exception {
        write(puts, unsynced);
    }

    private void write(List<Put> puts, WriteOptions wo) throws Exception {
        try (WriteBatch batch = new WriteBatch()) {
            for (Put p : puts) {
                batch.put(p.key(), p.value());
            }
            db.write(wo, batch);
        }
    }

    @Override
    public void sync() throws Exception {
        db.syncWal();
    }

    @Override
    public byte[] get(byte[] key) throws Exception {
        return db.get(reads, key);
    }

    @Override
    public long[] scanPrefix(byte[] prefix) {
        byte[] upper = Keys.prefixUpperBound(prefix);
        long n = 0;
        long bytes = 0;
        // The upper bound lets RocksDB stop at the block level instead of us comparing every key.
        try (Slice bound = new Slice(upper);
                ReadOptions ro = new ReadOptions().setIterateUpperBound(bound);
                RocksIterator it = db.newIterator(ro)) {
            for (it.seek(prefix); it.isValid(); it.next()) {
                bytes += it.key().length + it.value().length;
                n++;
            }
        }
        return new long[] {n, bytes};
    }

    @Override
    public void close() {
        db.close();
        options.close();
        cache.close();
        synced.close();
        unsynced.close();
        reads.close();
    }
}
