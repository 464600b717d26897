package io.coffer.server.meta;

import io.coffer.core.status.IoException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Slice;
import org.rocksdb.Snapshot;
import org.rocksdb.Status;
import org.rocksdb.Transaction;
import org.rocksdb.TransactionDB;
import org.rocksdb.TransactionDBOptions;
import org.rocksdb.TransactionOptions;
import org.rocksdb.WALRecoveryMode;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded engine: RocksDB's pessimistic TransactionDB, one column family per key space
 * (docs/adr/0001-metadata-engine.md says why). Commits append to the write-ahead log with a
 * write(2) before returning, so they survive a kill of the process; {@link #sync()} fsyncs the
 * log, and strict mode fsyncs on every commit.
 */
public final class RocksMetadataStore implements MetadataStore {
    private static final Logger log = LoggerFactory.getLogger(RocksMetadataStore.class);
    private static final int MAX_ATTEMPTS = 64;

    static {
        RocksDB.loadLibrary();
    }

    private final TransactionDB db;
    private final DBOptions dbOptions;
    private final ColumnFamilyOptions cfOptions;
    private final TransactionDBOptions txnDbOptions;
    private final WriteOptions writeOptions;
    private final TransactionOptions txnOptions;
    private final List<ColumnFamilyHandle> handles = new ArrayList<>();
    private final Map<KeySpace, ColumnFamilyHandle> cf = new EnumMap<>(KeySpace.class);
    /**
     * One idle transaction per thread, begun again for the next write: making and freeing a native
     * transaction and read options per write took ~4% of the server's CPU during creates, beginning
     * a kept one again ~1.4%. A write made inside another on the same thread takes a fresh one.
     */
    private final ThreadLocal<RocksTxn> idleTxn = new ThreadLocal<>();
    private final Set<RocksTxn> kept = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /**
     * Opens (creating if needed) the store in {@code dir}.
     *
     * @param strict fsync the log on every commit instead of at {@link #sync()}
     */
    public RocksMetadataStore(Path dir, boolean strict) throws IOException {
        Files.createDirectories(dir);
        dbOptions = new DBOptions()
                .setCreateIfMissing(true)
                .setCreateMissingColumnFamilies(true)
                .setWalRecoveryMode(WALRecoveryMode.PointInTimeRecovery)
                .setMaxBackgroundJobs(2)
                .setKeepLogFileNum(4)
                .setInfoLogLevel(org.rocksdb.InfoLogLevel.WARN_LEVEL);
        cfOptions = new ColumnFamilyOptions().setWriteBufferSize(32L << 20);
        List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
        descriptors.add(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions));
        for (KeySpace s : KeySpace.values()) {
            descriptors.add(new ColumnFamilyDescriptor(s.name().toLowerCase().getBytes(), cfOptions));
        }
        txnDbOptions = new TransactionDBOptions();
        try {
            db = TransactionDB.open(dbOptions, txnDbOptions, dir.toString(), descriptors, handles);
        } catch (RocksDBException e) {
            throw new IOException("cannot open metadata store in " + dir + ": " + e.getMessage(), e);
        }
        for (KeySpace s : KeySpace.values()) {
            cf.put(s, handles.get(s.ordinal() + 1));
        }
        writeOptions = new WriteOptions().setSync(strict);
        txnOptions = new TransactionOptions().setDeadlockDetect(true).setLockTimeout(5000);
        log.info("metadata store open at {} (sync {})", dir, strict ? "on every commit" : "at commit points");
    }

    @Override
    public <T> T read(ReadWork<T> work) throws IOException {
        Snapshot snap = db.getSnapshot();
        try (ReadOptions ro = new ReadOptions().setSnapshot(snap)) {
            return work.run(new SnapshotReader(ro));
        } finally {
            db.releaseSnapshot(snap);
        }
    }

    @Override
    public <T> T write(WriteWork<T> work) throws IOException {
        for (int attempt = 1; ; attempt++) {
            RocksTxn t = beginTxn();
            try {
                T result = work.run(t);
                t.txn.commit();
                for (Runnable r : t.after) {
                    r.run();
                }
                return result;
            } catch (RetryableConflict e) {
                rollbackQuietly(t.txn);
                if (attempt >= MAX_ATTEMPTS) {
                    throw new IoException("metadata transaction kept conflicting: " + e.getMessage());
                }
                backoff(attempt);
            } catch (RocksDBException e) {
                rollbackQuietly(t.txn);
                if (isRetryable(e) && attempt < MAX_ATTEMPTS) {
                    backoff(attempt);
                    continue;
                }
                throw new IoException("metadata store: " + e.getMessage(), e);
            } catch (IOException | RuntimeException | Error e) {
                rollbackQuietly(t.txn);
                throw e;
            } finally {
                endTxn(t);
            }
        }
    }

    private RocksTxn beginTxn() {
        RocksTxn t = idleTxn.get();
        if (t == null) {
            return new RocksTxn(db.beginTransaction(writeOptions, txnOptions));
        }
        idleTxn.set(null);
        if (!kept.remove(t)) {
            // close() took it first and closed it.
            return new RocksTxn(db.beginTransaction(writeOptions, txnOptions));
        }
        // The same native object, reset; RocksJava hands back the transaction it was given.
        t.txn = db.beginTransaction(writeOptions, txnOptions, t.txn);
        return t;
    }

    /**
     * Keeps the finished transaction as this thread's idle one, or closes it. Only idle ones are
     * in {@code kept}, so close() never frees a transaction a thread is using.
     */
    private void endTxn(RocksTxn t) {
        t.after.clear();
        if (closed || idleTxn.get() != null) {
            t.close();
            return;
        }
        idleTxn.set(t);
        kept.add(t);
        if (closed && kept.remove(t)) {
            // close() ran meanwhile and may have missed it.
            idleTxn.remove();
            t.close();
        }
    }

    private static void backoff(int attempt) {
        if (attempt > 2) {
            try {
                Thread.sleep(Math.min(20, attempt));
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
        } else {
            Thread.onSpinWait();
        }
    }

    private static boolean isRetryable(RocksDBException e) {
        Status s = e.getStatus();
        if (s == null) {
            return false;
        }
        return switch (s.getCode()) {
            case Busy, TimedOut, TryAgain -> true;
            default -> false;
        };
    }

    private static void rollbackQuietly(Transaction txn) {
        try {
            txn.rollback();
        } catch (RocksDBException ignored) {
            // The transaction is discarded either way.
        }
    }

    @Override
    public void sync() throws IOException {
        try {
            db.syncWal();
        } catch (RocksDBException e) {
            throw new IoException("metadata store sync: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        closed = true;
        for (RocksTxn t : kept) {
            if (kept.remove(t)) {
                t.close();
            }
        }
        try {
            db.syncWal();
        } catch (RocksDBException e) {
            log.warn("final WAL sync failed: {}", e.getMessage());
        }
        for (ColumnFamilyHandle h : handles) {
            h.close();
        }
        db.close();
        writeOptions.close();
        txnOptions.close();
        txnDbOptions.close();
        cfOptions.close();
        dbOptions.close();
    }

    /** Thrown inside a transaction to make the engine run the work again. */
    private static final class RetryableConflict extends RuntimeException {
        private static final long serialVersionUID = 1L;

        RetryableConflict(String m) {
            super(m, null, false, false);
        }
    }

    /**
     * The first key after every key that starts with {@code prefix}, or null if there is none
     * (an empty prefix, or one of 0xFF bytes only).
     */
    static byte[] prefixEnd(byte[] prefix) {
        for (int i = prefix.length - 1; i >= 0; i--) {
            if (prefix[i] != (byte) 0xFF) {
                byte[] end = java.util.Arrays.copyOf(prefix, i + 1);
                end[i]++;
                return end;
            }
        }
        return null;
    }

    /**
     * Read options for a scan of {@code prefix}: those given, bounded above at the prefix's end.
     * Without the bound an iterator that runs out of live keys of the prefix goes on skipping
     * deleted ones beyond it (RocksDB keeps a tombstone for each until compaction), so scanning
     * the chunks of a file just removed walked over the tombstones of every file removed after it:
     * after an rm -rf, reclaiming the removed files took ~75% of the server's CPU for minutes.
     * The caller closes both.
     */
    private static ReadOptions bounded(ReadOptions base, Slice upper) {
        ReadOptions ro = new ReadOptions(base);
        if (upper != null) {
            ro.setIterateUpperBound(upper);
        }
        return ro;
    }

    private void scanWith(RocksIterator it, byte[] prefix, byte[] startAfter, MetaReader.ScanVisitor visitor)
            throws IOException {
        if (startAfter == null) {
            it.seek(prefix);
        } else {
            it.seek(startAfter);
            if (it.isValid() && java.util.Arrays.equals(it.key(), startAfter)) {
                it.next();
            }
        }
        while (it.isValid()) {
            byte[] k = it.key();
            if (!Keys.startsWith(k, prefix)) {
                break;
            }
            if (!visitor.visit(k, it.value())) {
                break;
            }
            it.next();
        }
    }

    private final class SnapshotReader implements MetaReader {
        private final ReadOptions ro;

        SnapshotReader(ReadOptions ro) {
            this.ro = ro;
        }

        @Override
        public byte[] get(KeySpace space, byte[] key) throws IOException {
            try {
                return db.get(cf.get(space), ro, key);
            } catch (RocksDBException e) {
                throw new IoException("metadata read: " + e.getMessage(), e);
            }
        }

        @Override
        public void scan(KeySpace space, byte[] prefix, byte[] startAfter, ScanVisitor visitor) throws IOException {
            byte[] end = prefixEnd(prefix);
            try (Slice upper = end == null ? null : new Slice(end);
                    ReadOptions bounded = bounded(ro, upper);
                    RocksIterator it = db.newIterator(cf.get(space), bounded)) {
                scanWith(it, prefix, startAfter, visitor);
            }
        }
    }

    private final class RocksTxn implements MetaTxn, AutoCloseable {
        Transaction txn;
        final ReadOptions ro = new ReadOptions();
        final List<Runnable> after = new ArrayList<>(2);

        RocksTxn(Transaction txn) {
            this.txn = txn;
        }

        @Override
        public byte[] get(KeySpace space, byte[] key) throws IOException {
            try {
                return txn.get(cf.get(space), ro, key);
            } catch (RocksDBException e) {
                throw new IoException("metadata read: " + e.getMessage(), e);
            }
        }

        @Override
        public byte[] getForUpdate(KeySpace space, byte[] key) throws IOException {
            try {
                return txn.getForUpdate(ro, cf.get(space), key, true);
            } catch (RocksDBException e) {
                if (isRetryable(e)) {
                    throw new RetryableConflict(e.getMessage());
                }
                throw new IoException("metadata lock: " + e.getMessage(), e);
            }
        }

        @Override
        public void put(KeySpace space, byte[] key, byte[] value) throws IOException {
            try {
                txn.put(cf.get(space), key, value);
            } catch (RocksDBException e) {
                if (isRetryable(e)) {
                    throw new RetryableConflict(e.getMessage());
                }
                throw new IoException("metadata write: " + e.getMessage(), e);
            }
        }

        @Override
        public void delete(KeySpace space, byte[] key) throws IOException {
            try {
                txn.delete(cf.get(space), key);
            } catch (RocksDBException e) {
                if (isRetryable(e)) {
                    throw new RetryableConflict(e.getMessage());
                }
                throw new IoException("metadata delete: " + e.getMessage(), e);
            }
        }

        @Override
        public void scan(KeySpace space, byte[] prefix, byte[] startAfter, ScanVisitor visitor) throws IOException {
            byte[] end = prefixEnd(prefix);
            try (Slice upper = end == null ? null : new Slice(end);
                    ReadOptions bounded = bounded(ro, upper);
                    RocksIterator it = txn.getIterator(bounded, cf.get(space))) {
                scanWith(it, prefix, startAfter, visitor);
            }
        }

        @Override
        public void afterCommit(Runnable action) {
            after.add(action);
        }

        @Override
        public void close() {
            ro.close();
            txn.close();
        }
    }
}
