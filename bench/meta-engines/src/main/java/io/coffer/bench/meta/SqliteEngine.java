package io.coffer.bench.meta;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * SQLite in WAL mode. SQLite admits one writer at a time and fsyncs the WAL in every
 * synchronous=FULL commit, so concurrent durable writers queue behind one lock here; that
 * is the engine's own model, not a handicap added by the benchmark.
 */
final class SqliteEngine implements MetaEngine {
    private final ReentrantLock writeLock = new ReentrantLock();
    private final Connection writer;
    private final Connection reader;
    private final PreparedStatement upsert;
    private final PreparedStatement select;
    private final PreparedStatement range;
    private boolean fullSync = true;

    SqliteEngine(Path dir, long cacheBytes) throws Exception {
        String url = "jdbc:sqlite:" + dir.resolve("meta.db");
        writer = DriverManager.getConnection(url);
        try (Statement s = writer.createStatement()) {
            s.execute("PRAGMA journal_mode=WAL");
            s.execute("PRAGMA synchronous=FULL");
            s.execute("PRAGMA cache_size=-" + cacheBytes / 1024);
            s.execute("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID");
        }
        writer.setAutoCommit(false);
        upsert = writer.prepareStatement("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)");
        // Readers get their own connection so that WAL mode lets them run beside the writer.
        reader = DriverManager.getConnection(url);
        try (Statement s = reader.createStatement()) {
            s.execute("PRAGMA cache_size=-" + cacheBytes / 1024);
        }
        select = reader.prepareStatement("SELECT v FROM kv WHERE k = ?");
        range = reader.prepareStatement("SELECT k, v FROM kv WHERE k >= ? AND k < ? ORDER BY k");
    }

    @Override
    public void commitDurably(List<Put> puts) throws Exception {
        writeLock.lock();
        try {
            setFullSync(true);
            apply(puts);
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public void commitNoSync(List<Put> puts) throws Exception {
        writeLock.lock();
        try {
            // In WAL mode NORMAL skips the fsync at commit but keeps the database consistent.
            setFullSync(false);
            apply(puts);
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public void sync() throws Exception {
        // One FULL commit fsyncs the WAL, which makes every earlier frame in it stable too.
        commitDurably(List.of(new Put(new byte[] {'Z'}, new byte[] {1})));
    }

    private void apply(List<Put> puts) throws Exception {
        try {
            for (Put p : puts) {
                upsert.setBytes(1, p.key());
                upsert.setBytes(2, p.value());
                upsert.executeUpdate();
            }
            writer.commit();
        } catch (Exception e) {
            writer.rollback();
            throw e;
        }
    }

    private void setFullSync(boolean full) throws Exception {
        if (full == fullSync) {
            return;
        }
        // The pragma cannot change inside the transaction the driver keeps open in manual-commit mode.
        writer.setAutoCommit(true);
        try (Statement s = writer.createStatement()) {
            s.execute(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
        }
        writer.setAutoCommit(false);
        fullSync = full;
    }

    @Override
    public byte[] get(byte[] key) throws Exception {
        select.setBytes(1, key);
        try (ResultSet rs = select.executeQuery()) {
            return rs.next() ? rs.getBytes(1) : null;
        }
    }

    @Override
    public long[] scanPrefix(byte[] prefix) throws Exception {
        range.setBytes(1, prefix);
        range.setBytes(2, Keys.prefixUpperBound(prefix));
        long n = 0;
        long bytes = 0;
        try (ResultSet rs = range.executeQuery()) {
            while (rs.next()) {
                bytes += rs.getBytes(1).length + rs.getBytes(2).length;
                n++;
            }
        }
        return new long[] {n, bytes};
    }

    @Override
    public void close() throws IOException {
        try {
            upsert.close();
            select.close();
            range.close();
            writer.commit();
            writer.close();
            reader.close();
        } catch (java.sql.SQLException e) {
            throw new IOException("closing SQLite", e);
        }
    }
}
