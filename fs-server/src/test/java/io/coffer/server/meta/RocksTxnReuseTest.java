package io.coffer.server.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each thread begins its next transaction on the native object of its last one: nothing of a
 * rolled-back or committed transaction may reach the next, a write inside a write must still
 * work, and closing the store with threads holding idle transactions must not crash the JVM.
 */
class RocksTxnReuseTest {
    @TempDir
    Path dir;

    private static byte[] k(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static long count(byte[] v) {
        return v == null ? 0 : ByteBuffer.wrap(v).getLong();
    }

    private static byte[] bytes(long n) {
        return ByteBuffer.allocate(8).putLong(n).array();
    }

    @Test
    void aRolledBackWriteLeavesNothingForTheNextOnTheSameThread() throws IOException {
        try (RocksMetadataStore m = new RocksMetadataStore(dir.resolve("meta"), false)) {
            m.write(t -> {
                t.put(KeySpace.INODES, k("a"), k("1"));
                return null;
            });
            IOException e = assertThrows(IOException.class, () -> m.write(t -> {
                t.getForUpdate(KeySpace.INODES, k("a"));
                t.put(KeySpace.INODES, k("b"), k("2"));
                t.afterCommit(() -> {
                    throw new AssertionError("after-commit action of a rolled-back write ran");
                });
                throw new IOException("refused");
            }));
            assertEquals("refused", e.getMessage());
            List<Runnable> ran = new ArrayList<>();
            byte[][] seen = m.write(t -> {
                byte[] a = t.getForUpdate(KeySpace.INODES, k("a"));
                byte[] b = t.get(KeySpace.INODES, k("b"));
                t.put(KeySpace.INODES, k("c"), k("3"));
                t.afterCommit(() -> ran.add(null));
                return new byte[][] {a, b};
            });
            assertArrayEquals(k("1"), seen[0]);
            assertNull(seen[1], "the rolled-back put reached the next transaction");
            assertEquals(1, ran.size(), "only this write's own after-commit action runs");
            assertNull(m.read(r -> r.get(KeySpace.INODES, k("b"))));
            assertArrayEquals(k("3"), m.read(r -> r.get(KeySpace.INODES, k("c"))));
        }
    }

    @Test
    void aWriteInsideAWriteCommitsBoth() throws IOException {
        try (RocksMetadataStore m = new RocksMetadataStore(dir.resolve("meta"), false)) {
            for (int i = 0; i < 3; i++) {
                String n = Integer.toString(i);
                m.write(outer -> {
                    outer.put(KeySpace.INODES, k("outer" + n), k(n));
                    m.write(inner -> {
                        inner.put(KeySpace.INODES, k("inner" + n), k(n));
                        return null;
                    });
                    return null;
                });
                assertArrayEquals(k(n), m.read(r -> r.get(KeySpace.INODES, k("outer" + n))));
                assertArrayEquals(k(n), m.read(r -> r.get(KeySpace.INODES, k("inner" + n))));
            }
        }
    }

    @Test
    void threadsShareCountersThenTheStoreClosesUnderTheirIdleTransactions() throws Exception {
        int threads = 4;
        int each = 300;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            RocksMetadataStore m = new RocksMetadataStore(dir.resolve("meta"), false);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                byte[] own = k("own" + i);
                done.add(pool.submit(() -> {
                    start.await();
                    for (int j = 0; j < each; j++) {
                        m.write(t -> {
                            t.put(KeySpace.INODES, own, bytes(count(t.getForUpdate(KeySpace.INODES, own)) + 1));
                            byte[] shared = t.getForUpdate(KeySpace.INODES, k("shared"));
                            t.put(KeySpace.INODES, k("shared"), bytes(count(shared) + 1));
                            return null;
                        });
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
            assertEquals((long) threads * each, count(m.read(r -> r.get(KeySpace.INODES, k("shared")))));
            for (int i = 0; i < threads; i++) {
                String key = "own" + i;
                assertEquals(each, count(m.read(r -> r.get(KeySpace.INODES, k(key)))));
            }
            // The pool's threads are alive and each holds an idle transaction of this store.
            m.close();
            try (RocksMetadataStore again = new RocksMetadataStore(dir.resolve("meta"), false)) {
                assertEquals((long) threads * each, count(again.read(r -> r.get(KeySpace.INODES, k("shared")))));
                // Threads whose idle transaction belonged to the closed store write to the new one.
                pool.submit(() -> again.write(t -> {
                    t.put(KeySpace.INODES, k("after"), k("x"));
                    return null;
                })).get(30, TimeUnit.SECONDS);
                assertArrayEquals(k("x"), again.read(r -> r.get(KeySpace.INODES, k("after"))));
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
