package io.coffer.server.meta;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An in-memory engine for unit tests: serializable by running one write transaction at a time.
 * Nothing survives {@link #close()}.
 */
public final class MemoryMetadataStore implements MetadataStore {
    private final Map<KeySpace, ConcurrentSkipListMap<byte[], byte[]>> spaces = new EnumMap<>(KeySpace.class);
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

    public MemoryMetadataStore() {
        for (KeySpace s : KeySpace.values()) {
            spaces.put(s, new ConcurrentSkipListMap<>(Arrays::compareUnsigned));
        }
    }

    @Override
    public <T> T read(ReadWork<T> work) throws IOException {
        lock.readLock().lock();
        try {
            return work.run(new Reader(null));
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public <T> T write(WriteWork<T> work) throws IOException {
        Txn txn;
        T result;
        lock.writeLock().lock();
        try {
            txn = new Txn();
            result = work.run(txn);
            txn.apply();
        } finally {
            lock.writeLock().unlock();
        }
        for (Runnable r : txn.after) {
            r.run();
        }
        return result;
    }

    @Override
    public void sync() {
    }

    @Override
    public void close() {
    }

    private class Reader implements MetaReader {
        /** Pending writes of the enclosing transaction (null value = delete), or null for a pure read. */
        final Map<KeySpace, NavigableMap<byte[], byte[]>> pending;

        Reader(Map<KeySpace, NavigableMap<byte[], byte[]>> pending) {
            this.pending = pending;
        }

        @Override
        public byte[] get(KeySpace space, byte[] key) {
            if (pending != null) {
                NavigableMap<byte[], byte[]> p = pending.get(space);
                if (p != null && p.containsKey(key)) {
                    byte[] v = p.get(key);
                    return v == null ? null : v.clone();
                }
            }
            byte[] v = spaces.get(space).get(key);
            return v == null ? null : v.clone();
        }

        @Override
        public void scan(KeySpace space, byte[] prefix, byte[] startAfter, ScanVisitor visitor) throws IOException {
            NavigableMap<byte[], byte[]> merged = new TreeMap<>(Arrays::compareUnsigned);
            byte[] end = Keys.prefixEnd(prefix);
            NavigableMap<byte[], byte[]> base = end == null ? spaces.get(space).tailMap(prefix, true)
                    : spaces.get(space).subMap(prefix, true, end, false);
            merged.putAll(base);
            if (pending != null && pending.get(space) != null) {
                for (Map.Entry<byte[], byte[]> e : pending.get(space).entrySet()) {
                    if (Keys.startsWith(e.getKey(), prefix)) {
                        if (e.getValue() == null) {
                            merged.remove(e.getKey());
                        } else {
                            merged.put(e.getKey(), e.getValue());
                        }
                    }
                }
            }
            NavigableMap<byte[], byte[]> view = startAfter == null ? merged : merged.tailMap(startAfter, false);
            for (Map.Entry<byte[], byte[]> e : view.entrySet()) {
                if (!visitor.visit(e.getKey().clone(), e.getValue().clone())) {
                    return;
                }
            }
        }
    }

    private final class Txn extends Reader implements MetaTxn {
        final List<Runnable> after = new ArrayList<>();

        Txn() {
            super(new EnumMap<>(KeySpace.class));
        }

        @Override
        public byte[] getForUpdate(KeySpace space, byte[] key) {
            return get(space, key);
        }

        @Override
        public void put(KeySpace space, byte[] key, byte[] value) {
            pending.computeIfAbsent(space, s -> new TreeMap<>(Arrays::compareUnsigned)).put(key.clone(), value.clone());
        }

        @Override
        public void delete(KeySpace space, byte[] key) {
            pending.computeIfAbsent(space, s -> new TreeMap<>(Arrays::compareUnsigned)).put(key.clone(), null);
        }

        @Override
        public void afterCommit(Runnable action) {
            after.add(action);
        }

        void apply() {
            for (Map.Entry<KeySpace, NavigableMap<byte[], byte[]>> s : pending.entrySet()) {
                ConcurrentSkipListMap<byte[], byte[]> target = spaces.get(s.getKey());
                for (Map.Entry<byte[], byte[]> e : s.getValue().entrySet()) {
                    if (e.getValue() == null) {
                        target.remove(e.getKey());
                    } else {
                        target.put(e.getKey(), e.getValue());
                    }
                }
            }
        }
    }
}
