package io.coffer.client;

import io.coffer.core.status.IoException;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Book-keeping of the REMOVEs a mount answered before the server did (see
 * {@link RemoteFs#removeBehind}): which are in flight, at most {@link #MAX_IN_FLIGHT}, and
 * barriers that complete once every remove begun before them has been answered. A call that
 * could observe a removed name or race its removal waits at such a barrier, so the server sees a
 * mount's removes before anything the mount did after them that depends on them; which calls
 * those are is {@link RemoteFs}'s choice, by {@link #touches}.
 */
final class RemovesBehind {
    /**
     * Removes a mount may have in flight at once: enough to keep the server busy while an
     * {@code rm -rf} goes on, few enough that an error found late concerns a handful of names.
     */
    static final int MAX_IN_FLIGHT = 64;

    private record Waiter(long upTo, CompletableFuture<Void> done) {
    }

    private record Name(long dir, String name) {
    }

    private record Remove(Name name, long child) {
    }

    private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

    private final Object lock = new Object();
    /** By sequence number, so the lowest one still in flight is at hand. */
    private final TreeMap<Long, Remove> inFlight = new TreeMap<>();
    /** Removes in flight per directory and per removed inode, and per name (read without the lock). */
    private final java.util.concurrent.ConcurrentHashMap<Long, Integer> byInode = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.ConcurrentHashMap<Name, Integer> byName = new java.util.concurrent.ConcurrentHashMap<>();
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    private long issued;
    /** {@code inFlight.size()}, readable without the lock: most calls find no remove in flight. */
    private volatile int count;

    /**
     * Takes a slot for the remove of {@code name} (inode {@code child}) from directory
     * {@code dir}, waiting while {@link #MAX_IN_FLIGHT} are in flight; returns its sequence number.
     */
    long begin(long dir, String name, long child) throws IOException {
        synchronized (lock) {
            while (inFlight.size() >= MAX_IN_FLIGHT) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IoException("interrupted");
                }
            }
            long seq = ++issued;
            Remove r = new Remove(new Name(dir, name), child);
            inFlight.put(seq, r);
            byInode.merge(dir, 1, Integer::sum);
            byInode.merge(child, 1, Integer::sum);
            byName.merge(r.name(), 1, Integer::sum);
            count = inFlight.size();
            return seq;
        }
    }

    /** The remove {@code seq} was answered (or failed): frees its slot and releases the barriers it held. */
    void end(long seq) {
        List<CompletableFuture<Void>> ready = new ArrayList<>();
        synchronized (lock) {
            Remove r = inFlight.remove(seq);
            if (r == null) {
                return;
            }
            byInode.computeIfPresent(r.name().dir(), (k, n) -> n == 1 ? null : n - 1);
            byInode.computeIfPresent(r.child(), (k, n) -> n == 1 ? null : n - 1);
            byName.computeIfPresent(r.name(), (k, n) -> n == 1 ? null : n - 1);
            count = inFlight.size();
            long lowest = inFlight.isEmpty() ? Long.MAX_VALUE : inFlight.firstKey();
            while (!waiters.isEmpty() && waiters.peekFirst().upTo() < lowest) {
                ready.add(waiters.pollFirst().done());
            }
            lock.notifyAll();
        }
        for (CompletableFuture<Void> f : ready) {
            f.complete(null);
        }
    }

    /** Whether a remove in flight is from directory {@code inode} or of inode {@code inode}. */
    boolean touches(long inode) {
        return count != 0 && byInode.containsKey(inode);
    }

    /** Whether a remove of {@code name} from directory {@code dir} is in flight. */
    boolean touches(long dir, String name) {
        return count != 0 && byName.containsKey(new Name(dir, name));
    }

    /** Completes when every remove begun before this call has been answered. */
    CompletableFuture<Void> barrier() {
        if (count == 0) {
            return DONE;
        }
        synchronized (lock) {
            if (inFlight.isEmpty()) {
                return DONE;
            }
            // Waiters are added in increasing order of issued, so the deque stays sorted.
            Waiter w = new Waiter(issued, new CompletableFuture<>());
            waiters.addLast(w);
            return w.done();
        }
    }

    /** Blocks until every remove begun before this call has been answered. */
    void await() throws IOException {
        CompletableFuture<Void> b = barrier();
        if (b.isDone()) {
            return;
        }
        try {
            b.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IoException("interrupted");
        } catch (ExecutionException | CompletionException e) {
            throw new IoException("waiting for earlier removes: " + e.getCause());
        }
    }
}
