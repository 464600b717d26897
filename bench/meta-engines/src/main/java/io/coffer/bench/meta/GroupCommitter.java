package io.coffer.bench.meta;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Application-level group commit: one thread drains whatever transactions are waiting and
 * commits them as one durable transaction. This gives engines without built-in group commit
 * (SQLite, MVStore) the same advantage RocksDB has, so the comparison shows what the engine
 * choice really buys. Merging is safe because every transaction here is a set of puts.
 */
final class GroupCommitter implements AutoCloseable {
    private static final int MAX_GROUP = 256;

    private record Pending(List<Put> puts, CompletableFuture<Void> done) {
    }

    private final MetaEngine engine;
    private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean closed;

    GroupCommitter(MetaEngine engine) {
        this.engine = engine;
        thread = new Thread(this::loop, "group-commit");
        thread.setDaemon(true);
        thread.start();
    }

    void commitDurably(List<Put> puts) throws Exception {
        Pending p = new Pending(puts, new CompletableFuture<>());
        queue.add(p);
        try {
            p.done().get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }

    private void loop() {
        List<Pending> group = new ArrayList<>();
        List<Put> merged = new ArrayList<>();
        while (!closed) {
            try {
                group.add(queue.take());
            } catch (InterruptedException e) {
                return;
            }
            queue.drainTo(group, MAX_GROUP - 1);
            for (Pending p : group) {
                merged.addAll(p.puts());
            }
            try {
                engine.commitDurably(merged);
                group.forEach(p -> p.done().complete(null));
            } catch (Throwable t) {
                group.forEach(p -> p.done().completeExceptionally(t));
            }
            group.clear();
            merged.clear();
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
