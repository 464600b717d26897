package io.coffer.client.fuse;

import io.coffer.client.RemoteFs;
import io.coffer.core.Credentials;
import io.coffer.core.FileAttributes;
import io.coffer.core.FileHandle;
import io.coffer.core.WriteResult;
import io.coffer.core.status.IoException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Write-behind for one open file. Without FUSE writeback caching the kernel sends one write at
 * a time and waits for each, so waiting for the server on every write would cap a stream at one
 * request per round trip. Writes are instead gathered into large contiguous requests, sent
 * asynchronously as unstable WRITEs, and kept until a COMMIT returns the verifier they were
 * written under; errors surface at the next write, flush or fsync, as NFS clients do.
 *
 * <p>Ordering: a write that overlaps one still in flight is sent only after it (the server may
 * run concurrent requests in any order). When a COMMIT finds any write made under another
 * verifier (the server restarted and may have lost it), every uncommitted write is sent again
 * in its original order, so newer bytes are never overwritten by older ones.
 */
final class FileState {
    private static final Logger log = LoggerFactory.getLogger(FileState.class);
    static final int MAX_REQUEST = 1 << 20;
    private static final AtomicLong SEQUENCE = new AtomicLong();

    final FileHandle handle;
    private final RemoteFs fs;
    private final WriteBudget budget;
    /**
     * Unstable bytes after which a COMMIT starts in the background: half the mount's budget, so
     * that a stream keeps writing while the server syncs. Each COMMIT is an fdatasync on the
     * server, and on this kind of disk writes to a file stall while it is being synced, so
     * fewer, larger commits keep a stream faster.
     */
    private final long commitEvery;
    private final Object lock = new Object();
    private ByteBuf pending;
    private long pendingOffset;
    private Credentials pendingCreds;
    private final List<Write> inFlight = new ArrayList<>();
    private final List<Write> unstable = new ArrayList<>();
    private long unstableBytes;
    private boolean committing;
    private IOException error;
    private long localEnd = -1;
    private long localMtimeNanos;
    private long lastChange = -1;
    int opens;

    private static final class Write {
        final long seq = SEQUENCE.incrementAndGet();
        final long offset;
        final ByteBuf data;
        final Credentials creds;
        volatile long verifier;
        volatile CompletableFuture<WriteResult> future;
        /** Asked to be durable before the reply (the last write of a file being closed). */
        boolean stable;

        Write(long offset, ByteBuf data, Credentials creds) {
            this.offset = offset;
            this.data = data;
            this.creds = creds;
        }

        long end() {
            return offset + data.readableBytes();
        }

        boolean overlaps(long off, long end) {
            return offset < end && off < end();
        }
    }

    FileState(FileHandle handle, RemoteFs fs, WriteBudget budget) {
        this.handle = handle;
        this.fs = fs;
        this.budget = budget;
        this.commitEvery = Math.max(4L << 20, budget.total() / 2);
    }

    /**
     * Accepts {@code len} bytes at {@code offset}, copied from {@code src} by {@code copier}.
     * Blocks only when the mount's write budget is exhausted.
     */
    void write(Credentials creds, long offset, int len, java.util.function.Consumer<ByteBuf> copier) throws IOException {
        budget.acquire(len);
        boolean accepted = false;
        try {
            synchronized (lock) {
                if (error != null) {
                    IOException e = error;
                    error = null;
                    throw e;
                }
                boolean contiguous = pending != null && offset == pendingOffset + pending.readableBytes()
                        && pending.readableBytes() + len <= MAX_REQUEST && creds.equals(pendingCreds);
                if (!contiguous) {
                    sendPending();
                    // A large write starts a stream: take the whole request buffer at once rather
                    // than growing it (each growth copies everything gathered so far).
                    pending = allocate(len >= 64 * 1024 ? MAX_REQUEST : Math.max(len, 16 * 1024));
                    pendingOffset = offset;
                    pendingCreds = creds;
                }
                copier.accept(pending);
                accepted = true;
                localEnd = Math.max(localEnd, offset + len);
                localMtimeNanos = System.currentTimeMillis() * 1_000_000L;
                if (pending.readableBytes() >= MAX_REQUEST) {
                    sendPending();
                }
            }
        } finally {
            if (!accepted) {
                budget.release(len);
            }
        }
    }

    /**
     * A gathering buffer. Direct memory is bounded; when the allocator cannot get more (writes,
     * read-ahead and replies of other files share it) this waits for in-flight writes to finish
     * rather than failing the application's write. Caller holds the lock.
     */
    private ByteBuf allocate(int capacity) throws IOException {
        for (int attempt = 0; ; attempt++) {
            try {
                return PooledByteBufAllocator.DEFAULT.directBuffer(capacity, MAX_REQUEST);
            } catch (OutOfMemoryError e) {
                if (attempt >= 200 || inFlight.isEmpty() && unstable.isEmpty()) {
                    throw new IoException("no buffer memory for a write of " + capacity + " bytes: " + e.getMessage());
                }
                if (!committing) {
                    commitInBackground();
                }
                try {
                    lock.wait(50);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IoException("interrupted while waiting for write buffer memory");
                }
            }
        }
    }

    /** No write of this file is in flight or awaiting COMMIT: the gathered bytes are all it has unsaved. Caller holds the lock. */
    private boolean pendingIsAllUnsaved() {
        return inFlight.isEmpty() && unstable.isEmpty() && !committing;
    }

    /** Sends the gathered bytes, if any, as an unstable write. Caller holds the lock. */
    private void sendPending() {
        sendPending(false);
    }

    /** Sends the gathered bytes, if any; {@code stable}: durable before the reply. Caller holds the lock. */
    private void sendPending(boolean stable) {
        if (pending == null || pending.readableBytes() == 0) {
            if (pending != null) {
                pending.release();
                pending = null;
            }
            return;
        }
        ByteBuf data = pending;
        pending = null;
        if (data.capacity() >= 4 * data.readableBytes()) {
            // A small random write would otherwise pin a whole gathering buffer until its COMMIT:
            // the budget counts bytes written, so thousands of 4 KiB writes held 128 KiB each and
            // ran the daemon out of direct memory.
            ByteBuf tight = PooledByteBufAllocator.DEFAULT.directBuffer(data.readableBytes());
            tight.writeBytes(data);
            data.release();
            data = tight;
        }
        Write w = new Write(pendingOffset, data, pendingCreds);
        w.stable = stable;
        send(w);
    }

    /** Sends a write after any in-flight write it overlaps. Caller holds the lock. */
    private void send(Write w) {
        List<CompletableFuture<WriteResult>> before = new ArrayList<>();
        for (Write o : inFlight) {
            if (o.overlaps(w.offset, w.end())) {
                before.add(o.future);
            }
        }
        inFlight.add(w);
        CompletableFuture<Void> ready = before.isEmpty() ? CompletableFuture.completedFuture(null)
                : CompletableFuture.allOf(before.toArray(new CompletableFuture[0])).handle((r, e) -> null);
        w.future = ready.thenCompose(x -> fs.writeAsync(w.creds, handle, w.offset, w.data.retainedDuplicate(), w.stable));
        w.future.whenComplete((r, e) -> completed(w, r, e));
    }

    private void completed(Write w, WriteResult r, Throwable e) {
        boolean commitNow = false;
        synchronized (lock) {
            inFlight.remove(w);
            if (e != null) {
                Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                error = cause instanceof IOException io ? io : new IoException(String.valueOf(cause));
                log.warn("write of {} bytes at {} to {} failed: {}", w.data.readableBytes(), w.offset, handle,
                        cause.getMessage());
                discard(w);
            } else if (r.stable()) {
                discard(w);
            } else {
                w.verifier = r.verifier();
                unstable.add(w);
                unstableBytes += w.data.readableBytes();
                commitNow = unstableBytes >= commitEvery && !committing;
                if (commitNow) {
                    committing = true;
                }
            }
            if (r != null) {
                lastChange = Math.max(lastChange, r.attributes().change());
            }
            lock.notifyAll();
        }
        if (commitNow) {
            commitInBackground();
        }
    }

    private void discard(Write w) {
        int n = w.data.readableBytes();
        w.data.release();
        budget.release(n);
    }

    /** Sends gathered bytes now (memory pressure). */
    void sendPendingNow() {
        synchronized (lock) {
            sendPending();
        }
    }

    /** Starts a COMMIT of what is unstable now, to free memory; errors are kept for the next flush. */
    void commitInBackground() {
        List<Write> batch;
        Credentials creds;
        synchronized (lock) {
            if (unstable.isEmpty()) {
                committing = false;
                return;
            }
            committing = true;
            batch = new ArrayList<>(unstable);
            creds = batch.get(0).creds;
        }
        fs.commitAsync(creds, handle).whenComplete((v, e) -> {
            synchronized (lock) {
                committing = false;
                if (e != null) {
                    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                    error = cause instanceof IOException io ? io : new IoException(String.valueOf(cause));
                } else {
                    settle(batch, v);
                }
                lock.notifyAll();
            }
        });
    }

    /** Applies a COMMIT's verifier to the writes it covered. Caller holds the lock. */
    private void settle(List<Write> batch, long verifier) {
        boolean allMatch = true;
        for (Write w : batch) {
            if (w.verifier != verifier) {
                allMatch = false;
                break;
            }
        }
        if (allMatch) {
            for (Write w : batch) {
                if (unstable.remove(w)) {
                    unstableBytes -= w.data.readableBytes();
                    discard(w);
                }
            }
            return;
        }
        // The server lost some of them: send every uncommitted write again, oldest first.
        List<Write> again = new ArrayList<>(unstable);
        again.sort(Comparator.comparingLong(x -> x.seq));
        log.warn("server write verifier changed: resending {} uncommitted writes to {}", again.size(), handle);
        unstable.clear();
        unstableBytes = 0;
        for (Write w : again) {
            send(new Write(w.offset, w.data, w.creds));
        }
    }

    /**
     * Sends everything gathered, waits for it, and COMMITs until every write is stable under the
     * current verifier. Throws the first error met since the last flush.
     */
    void flush() throws IOException {
        synchronized (lock) {
            // When all the file's unsaved data is in this one request (a small file, closed), a stable
            // WRITE makes it durable in one round trip instead of a WRITE and a COMMIT.
            sendPending(pendingIsAllUnsaved());
        }
        for (int round = 0; round < 20; round++) {
            List<Write> batch;
            Credentials creds;
            synchronized (lock) {
                while (!inFlight.isEmpty() || committing) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IoException("interrupted while flushing");
                    }
                }
                if (error != null) {
                    IOException e = error;
                    error = null;
                    throw e;
                }
                if (unstable.isEmpty()) {
                    localEnd = -1;
                    return;
                }
                batch = new ArrayList<>(unstable);
                creds = batch.get(0).creds;
            }
            long v = fs.commit(io.coffer.core.OpContext.of(creds), handle);
            synchronized (lock) {
                settle(batch, v);
            }
        }
        throw new IoException("could not make writes to " + handle + " stable: the server kept restarting");
    }

    /** Sends what is gathered and waits until no write is in flight (no COMMIT of earlier writes). */
    void drain() throws IOException {
        synchronized (lock) {
            // Called before a SETATTR, which programs (tar, cp -p, rsync) make just before close: when
            // the gathered bytes are all the file's unsaved data, write them stable now and the close
            // finds nothing to COMMIT, one round trip fewer per file.
            sendPending(pendingIsAllUnsaved());
            while (!inFlight.isEmpty()) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IoException("interrupted");
                }
            }
            if (error != null) {
                IOException e = error;
                error = null;
                throw e;
            }
        }
    }

    /** Makes sure no write overlapping the range is pending or in flight, so a READ sees it. */
    void awaitRange(long offset, long length) throws IOException {
        long end = offset + length;
        synchronized (lock) {
            if (pending != null && pendingOffset < end && offset < pendingOffset + pending.readableBytes()) {
                sendPending();
            }
            while (true) {
                boolean busy = false;
                for (Write w : inFlight) {
                    if (w.overlaps(offset, end)) {
                        busy = true;
                        break;
                    }
                }
                if (!busy) {
                    return;
                }
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IoException("interrupted");
                }
            }
        }
    }

    /** Server attributes corrected for writes this client has made that the server may not reflect yet. */
    FileAttributes overlay(FileAttributes a) {
        synchronized (lock) {
            if (localEnd < 0) {
                return a;
            }
            long size = Math.max(a.size(), localEnd);
            long mtime = Math.max(a.mtimeNanos(), localMtimeNanos);
            return new FileAttributes(a.type(), a.mode(), a.nlink(), a.uid(), a.gid(), size, Math.max(a.usedBytes(), size),
                    a.rdev(), a.inode(), a.atimeNanos(), mtime, Math.max(a.ctimeNanos(), mtime), a.change());
        }
    }

    boolean dirty() {
        synchronized (lock) {
            return pending != null || !inFlight.isEmpty() || !unstable.isEmpty();
        }
    }

    /** After a truncate: this client's idea of the end no longer holds. */
    void truncated() {
        synchronized (lock) {
            localEnd = -1;
        }
    }

    long lastChange() {
        synchronized (lock) {
            return lastChange;
        }
    }

    /** Drops everything without sending (the file is gone). */
    void abandon() {
        synchronized (lock) {
            if (pending != null) {
                int n = pending.readableBytes();
                pending.release();
                pending = null;
                budget.release(n);
            }
            for (Write w : unstable) {
                discard(w);
            }
            unstable.clear();
            unstableBytes = 0;
        }
    }
}
