package io.coffer.client.fuse;

import io.coffer.client.RemoteFs;
import io.coffer.core.Credentials;
import io.coffer.core.FileAttributes;
import io.coffer.core.FileHandle;
import io.coffer.core.OpContext;
import io.coffer.core.SetAttributes;
import io.coffer.core.WriteResult;
import io.coffer.core.rpc.FrameBuffers;
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
 * <p>Attribute changes made while the file is open for writing here (the {@code utimensat},
 * {@code fchown} and {@code fchmod} that tar, cp -p and rsync make just before close) are held
 * like the data and sent after it at the next flush, fsync or close, in one WRITE_SETATTR with
 * the last data when that is all that is unsaved: a small extracted file then costs a CREATE and
 * one WRITE_SETATTR instead of a CREATE, a WRITE and three SETATTRs. Only changes whose outcome
 * the client can predict exactly are held (see {@link #defer}); others are sent at once, after
 * anything held. Until sent they show in {@link #overlay}.
 *
 * <p>Ordering: a write that overlaps one still in flight is sent only after it (the server may
 * run concurrent requests in any order). When a COMMIT finds any write made under another
 * verifier (the server restarted and may have lost it), every uncommitted write is sent again
 * in its original order, and a write in flight at that moment once more after them, so newer
 * bytes are never overwritten by older ones.
 */
final class FileState {
    private static final Logger log = LoggerFactory.getLogger(FileState.class);
    static final int MAX_REQUEST = 1 << 20;
    /**
     * Whole-request gathering buffers of every file of this daemon, reused. From the pooled
     * allocator, a 1 MiB buffer is a quarter of a 4 MiB chunk, and such chunks were made, zeroed
     * and unmapped every few MiB of a sequential write, on the FUSE thread holding the
     * application's write (see {@link FrameBuffers}). Ten are kept idle: a stream holds the
     * default 8 MiB write-behind budget's worth until the server commits it, plus the buffer being
     * filled, and they come back in bursts when a COMMIT answers; keeping only four made every
     * second buffer of a stream fresh memory again (~17% of the daemon's CPU during a sequential
     * write, docs/performance.md). {@link #trimBuffers()} gives them back once writes stop.
     */
    private static final FrameBuffers GATHER = new FrameBuffers(MAX_REQUEST, 10);
    private static final AtomicLong SEQUENCE = new AtomicLong();
    /**
     * What each write record costs the budget on top of its bytes: the heap a record takes while
     * it is in flight or awaiting COMMIT (the record, its futures, the call, the buffer's wrapper;
     * a few hundred bytes). Counting bytes alone let a program writing single bytes at scattered
     * offsets hold millions of records within an 8 MiB budget, and the daemon ran out of heap.
     */
    static final int RECORD_COST = 512;

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
    /** When the gathered run began ({@link System#nanoTime}). */
    private long pendingSinceNanos;
    private Credentials pendingCreds;
    private final List<Write> inFlight = new ArrayList<>();
    private final List<Write> unstable = new ArrayList<>();
    private long unstableBytes;
    private boolean committing;
    private IOException error;
    private long localEnd = -1;
    /** Bytes written since {@link #localEnd} was last unknown: at most what the server does not count yet. */
    private long localBytes;
    private long localMtimeNanos;
    private long lastChange = -1;
    /** Attribute changes held for the next flush, merged; with the credentials they were made with. */
    private SetAttributes deferred;
    private Credentials deferredCreds;
    private long deferredAtNanos;
    /** Attributes returned by the last call of a flush that sent held attributes. */
    private FileAttributes flushedAttrs;
    int opens;
    /** Opens for writing through this mount; attribute changes are held only while there is one. */
    volatile int writers;

    private static final class Write {
        final long seq = SEQUENCE.incrementAndGet();
        final long offset;
        final ByteBuf data;
        final Credentials creds;
        volatile long verifier;
        volatile CompletableFuture<WriteResult> future;
        /** Asked to be durable before the reply (the last write of a file being closed). */
        boolean stable;
        /** Held attribute changes sent with this write (WRITE_SETATTR), or null. */
        SetAttributes attrs;
        /**
         * In flight when older writes were sent again after the server lost them: it may land
         * before they do, so it is sent once more when it lands, to stay newer than they are.
         */
        boolean sendAgain;

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
        int charge = len + RECORD_COST;
        budget.acquire(charge);
        boolean accepted = false;
        try {
            synchronized (lock) {
                if (error != null) {
                    IOException e = error;
                    error = null;
                    throw e;
                }
                // A write that lands inside the gathered run, or right after it, joins it: an
                // overwrite replaces the gathered bytes in place, as a page cache would, instead
                // of becoming a record of its own that must wait for the one before it.
                boolean joins = pending != null && creds.equals(pendingCreds) && offset >= pendingOffset
                        && offset <= pendingOffset + pending.readableBytes() && offset + len - pendingOffset <= MAX_REQUEST;
                if (joins) {
                    int had = pending.readableBytes();
                    int end = pending.writerIndex();
                    pending.writerIndex(pending.readerIndex() + (int) (offset - pendingOffset));
                    try {
                        copier.accept(pending);
                    } finally {
                        pending.writerIndex(Math.max(end, pending.writerIndex()));
                    }
                    accepted = true;
                    // The run's charge is its bytes plus one record: give back what this write did not add.
                    budget.release(charge - (pending.readableBytes() - had));
                } else {
                    sendPending();
                    // A large write starts a stream: take the whole request buffer at once rather
                    // than growing it (each growth copies everything gathered so far). A small one
                    // takes what it needs and the run grows by doubling: 16 KiB for every small
                    // write ran the daemon out of direct memory with ~8,000 files open, each with a
                    // few bytes written (the budget counts bytes written, not buffers held).
                    pending = allocate(len >= 64 * 1024 ? MAX_REQUEST : len);
                    pendingOffset = offset;
                    pendingCreds = creds;
                    pendingSinceNanos = System.nanoTime();
                    copier.accept(pending);
                    accepted = true;
                }
                localEnd = Math.max(localEnd, offset + len);
                localBytes += len;
                localMtimeNanos = System.currentTimeMillis() * 1_000_000L;
                if (pending.readableBytes() >= MAX_REQUEST) {
                    sendPending();
                }
            }
        } finally {
            if (!accepted) {
                budget.release(charge);
            }
        }
    }

    /** The capacity of the buffer gathering writes, 0 if none (for tests). */
    int gatheringCapacity() {
        synchronized (lock) {
            return pending == null ? 0 : pending.capacity();
        }
    }

    /** What a write record holds of the budget. */
    private static int charge(Write w) {
        return w.data.readableBytes() + RECORD_COST;
    }

    /** Frees the idle gathering buffers if none was taken since the previous call (every few seconds). */
    static void trimBuffers() {
        GATHER.trim();
    }

    /**
     * A gathering buffer. Direct memory is bounded; when the allocator cannot get more (writes,
     * read-ahead and replies of other files share it) this waits for in-flight writes to finish
     * rather than failing the application's write. Caller holds the lock.
     */
    private ByteBuf allocate(int capacity) throws IOException {
        for (int attempt = 0; ; attempt++) {
            try {
                return capacity == MAX_REQUEST ? GATHER.buffer(PooledByteBufAllocator.DEFAULT, MAX_REQUEST)
                        : PooledByteBufAllocator.DEFAULT.directBuffer(capacity, MAX_REQUEST);
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
        sendPending(stable, null);
    }

    /**
     * Sends the gathered bytes, if any, followed on the server by {@code attrs} when not null.
     * Caller holds the lock and has checked that there are gathered bytes when {@code attrs} is set.
     */
    private void sendPending(boolean stable, SetAttributes attrs) {
        if (pending == null || pending.readableBytes() == 0) {
            if (pending != null) {
                pending.release();
                pending = null;
                budget.release(RECORD_COST);
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
        w.attrs = attrs;
        send(w);
    }

    /** Sends a write after any in-flight write it overlaps. Caller holds the lock. */
    private void send(Write w) {
        List<CompletableFuture<WriteResult>> before = new ArrayList<>();
        for (int i = inFlight.size() - 1; i >= 0; i--) {
            Write o = inFlight.get(i);
            if (!o.overlaps(w.offset, w.end())) {
                continue;
            }
            if (before.isEmpty() && o.offset <= w.offset && o.end() >= w.end()) {
                // The newest overlapping write covers this one, so it already waits for every
                // older write this one overlaps: waiting for it alone is enough. Rewrites of one
                // range used to wait for all the others in flight, a chain that grew with each.
                before.add(o.future);
                break;
            }
            before.add(o.future);
        }
        inFlight.add(w);
        CompletableFuture<Void> ready = before.isEmpty() ? CompletableFuture.completedFuture(null)
                : CompletableFuture.allOf(before.toArray(new CompletableFuture[0])).handle((r, e) -> null);
        w.future = ready.thenCompose(x -> w.attrs == null
                ? fs.writeAsync(w.creds, handle, w.offset, w.data.retainedDuplicate(), w.stable)
                : fs.writeSetattrAsync(w.creds, handle, w.offset, w.data.retainedDuplicate(), w.stable, w.attrs));
        w.future.whenComplete((r, e) -> completed(w, r, e));
    }

    private void completed(Write w, WriteResult r, Throwable e) {
        boolean commitNow = false;
        synchronized (lock) {
            inFlight.remove(w);
            if (e == null && w.sendAgain) {
                Write again = new Write(w.offset, w.data, w.creds);
                again.stable = w.stable;
                again.attrs = w.attrs;
                send(again);
            } else if (e != null) {
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
                unstableBytes += charge(w);
                commitNow = unstableBytes >= commitEvery && !committing;
                if (commitNow) {
                    committing = true;
                }
            }
            if (r != null) {
                lastChange = Math.max(lastChange, r.attributes().change());
                if (w.attrs != null) {
                    flushedAttrs = r.attributes();
                }
            }
            lock.notifyAll();
        }
        if (commitNow) {
            commitInBackground();
        }
    }

    private void discard(Write w) {
        int n = charge(w);
        w.data.release();
        budget.release(n);
    }

    /**
     * Sends the gathered bytes if their run began before {@code cutoffNanos}
     * ({@link System#nanoTime}). Without this, bytes written and then left alone, or appended a
     * little at a time, stayed in this process until the run filled a request or the file was
     * closed, however long that took: a log kept open showed nothing to other clients. Now they
     * reach the server within seconds, as a kernel writes back dirty pages that have waited. Meant
     * to run every few seconds; returns whether it sent anything.
     */
    boolean sendIfOlderThan(long cutoffNanos) {
        synchronized (lock) {
            if (pending == null || pending.readableBytes() == 0 || pendingSinceNanos - cutoffNanos > 0) {
                return false;
            }
            sendPending();
            return true;
        }
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
                    unstableBytes -= charge(w);
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
        for (Write w : inFlight) {
            w.sendAgain = true;
        }
        for (Write w : again) {
            send(new Write(w.offset, w.data, w.creds));
        }
    }

    /**
     * Sends everything gathered and any held attribute changes, waits for them, and COMMITs until
     * every write is stable under the current verifier. Throws the first error met since the last
     * flush. Returns the file's attributes when the last call made returned them (held attributes
     * were sent), else null.
     */
    FileAttributes flush() throws IOException {
        synchronized (lock) {
            flushedAttrs = null;
            // When all the file's unsaved data is in this one request (a small file, closed), a stable
            // WRITE makes it durable in one round trip instead of a WRITE and a COMMIT, and carries
            // the held attribute changes when there are any.
            sendLast();
        }
        for (int round = 0; round < 20; round++) {
            List<Write> batch;
            Credentials creds;
            SetAttributes attrs;
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
                attrs = deferred;
                creds = deferredCreds;
                deferred = null;
                if (attrs == null && unstable.isEmpty()) {
                    localEnd = -1;
                    localBytes = 0;
                    return flushedAttrs;
                }
                batch = attrs == null ? new ArrayList<>(unstable) : null;
            }
            if (attrs != null) {
                // After the data (which has landed), before the COMMIT, which makes both durable.
                sendHeld(creds, attrs);
                continue;
            }
            creds = batch.get(0).creds;
            long v = fs.commit(OpContext.of(creds), handle);
            synchronized (lock) {
                settle(batch, v);
            }
        }
        throw new IoException("could not make writes to " + handle + " stable: the server kept restarting");
    }

    /**
     * Sends what is gathered and any held attribute changes, and waits until no write is in flight
     * (no COMMIT of earlier writes). Returns the attributes after the held changes, when there were
     * any, else null.
     */
    FileAttributes drain() throws IOException {
        SetAttributes attrs;
        Credentials creds;
        synchronized (lock) {
            flushedAttrs = null;
            // Called before a SETATTR that could not be held: when the gathered bytes are all the
            // file's unsaved data, write them stable now and the close finds nothing to COMMIT.
            sendLast();
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
            attrs = deferred;
            creds = deferredCreds;
            deferred = null;
        }
        if (attrs != null) {
            sendHeld(creds, attrs);
        }
        synchronized (lock) {
            return flushedAttrs;
        }
    }

    /**
     * Sends the gathered bytes: stable when they are all the file's unsaved data, and then with the
     * held attribute changes if the server takes both in one call. Caller holds the lock.
     */
    private void sendLast() {
        boolean all = pendingIsAllUnsaved();
        if (all && deferred != null && pending != null && pending.readableBytes() > 0 && fs.writeSetattrSupported()) {
            SetAttributes attrs = deferred;
            deferred = null;
            sendPending(true, attrs);
        } else {
            sendPending(all);
        }
    }

    /** Sends held attribute changes on their own, after every write; the caller has taken them. */
    private void sendHeld(Credentials creds, SetAttributes attrs) throws IOException {
        FileAttributes a = fs.setattr(OpContext.of(creds), handle, attrs);
        synchronized (lock) {
            flushedAttrs = a;
            lastChange = Math.max(lastChange, a.change());
        }
    }

    /**
     * Holds an attribute change (no size) to be sent after the data, if its outcome on the server
     * is certain from here: the file is open for writing on this mount, the change is made with
     * the credentials of any change already held, by the owner or root, owners change only as
     * root and not on a set-ID file (chown would clear those bits), and set-ID bits are set only by
     * root (the server may clear them for others). {@code current} is the file's attributes as this
     * mount sees them. Returns false when the change must go to the server now.
     */
    boolean defer(Credentials creds, SetAttributes change, FileAttributes current) {
        if (change.size() != null || writers == 0) {
            return false;
        }
        boolean root = creds.isRoot();
        if (!root && creds.uid() != current.uid()) {
            return false;
        }
        if ((change.uid() != null || change.gid() != null) && (!root || (current.mode() & 06000) != 0)) {
            return false;
        }
        if (change.mode() != null && (change.mode() & 06000) != 0 && !root) {
            return false;
        }
        synchronized (lock) {
            if (deferred != null && !creds.equals(deferredCreds)) {
                return false;
            }
            deferred = merge(deferred, change);
            deferredCreds = creds;
            deferredAtNanos = System.currentTimeMillis() * 1_000_000L;
            return true;
        }
    }

    /** Whether attribute changes are held. */
    boolean holdsAttributes() {
        synchronized (lock) {
            return deferred != null;
        }
    }

    /** {@code later} applied over {@code earlier}: each field the later change sets wins. */
    static SetAttributes merge(SetAttributes earlier, SetAttributes later) {
        if (earlier == null) {
            return later;
        }
        boolean laterAtime = later.atimeNanos() != null || later.atimeNow();
        boolean laterMtime = later.mtimeNanos() != null || later.mtimeNow();
        return new SetAttributes(
                later.mode() != null ? later.mode() : earlier.mode(),
                later.uid() != null ? later.uid() : earlier.uid(),
                later.gid() != null ? later.gid() : earlier.gid(),
                null,
                laterAtime ? later.atimeNanos() : earlier.atimeNanos(),
                laterAtime ? later.atimeNow() : earlier.atimeNow(),
                laterMtime ? later.mtimeNanos() : earlier.mtimeNanos(),
                laterMtime ? later.mtimeNow() : earlier.mtimeNow());
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

    /**
     * The end of the file as this client's writes since the last completed flush have made it,
     * or -1. A read answered by the server before all of them have landed can stop short at the
     * server's end; what lies between that and this end was written by none of them, a hole.
     */
    long writtenEnd() {
        synchronized (lock) {
            return localEnd;
        }
    }

    /**
     * How many zeros to add to a server's answer of {@code got} bytes to a read of {@code size}
     * at {@code offset}, given {@link #writtenEnd} as it was before the read was sent: a short
     * answer below that end is a hole, not the end of the file (the write that extends the file
     * lies beyond the read and has not landed). Without this the kernel took the short answer as
     * the end of the file and cut its idea of the size there, and data just written read as EOF.
     */
    static int holeAfter(long offset, int size, int got, long writtenEnd) {
        long from = offset + got;
        long to = Math.min(offset + size, writtenEnd);
        return got < size && to > from ? (int) (to - from) : 0;
    }

    /** Server attributes corrected for writes this client has made that the server may not reflect yet. */
    FileAttributes overlay(FileAttributes a) {
        synchronized (lock) {
            if (localEnd < 0 && deferred == null) {
                return a;
            }
            long size = a.size();
            long used = a.usedBytes();
            long mtime = a.mtimeNanos();
            long atime = a.atimeNanos();
            long ctime = a.ctimeNanos();
            int mode = a.mode();
            int uid = a.uid();
            int gid = a.gid();
            if (localEnd >= 0) {
                size = Math.max(size, localEnd);
                // A sparse file shows what it stores: the server's count plus this client's writes.
                used = Math.min(Math.max(used, size), used + localBytes);
                mtime = Math.max(mtime, localMtimeNanos);
                ctime = Math.max(ctime, mtime);
            }
            SetAttributes d = deferred;
            if (d != null) {
                // Held changes were made after every write still unsent (a write sends them first).
                mode = d.mode() != null ? d.mode() & 07777 : mode;
                uid = d.uid() != null ? d.uid() : uid;
                gid = d.gid() != null ? d.gid() : gid;
                atime = d.atimeNanos() != null ? d.atimeNanos() : d.atimeNow() ? deferredAtNanos : atime;
                mtime = d.mtimeNanos() != null ? d.mtimeNanos() : d.mtimeNow() ? deferredAtNanos : mtime;
                ctime = Math.max(ctime, deferredAtNanos);
            }
            return new FileAttributes(a.type(), mode, a.nlink(), uid, gid, size, used, a.rdev(), a.inode(), atime, mtime,
                    ctime, a.change());
        }
    }

    /** Write records in flight or awaiting COMMIT. */
    int records() {
        synchronized (lock) {
            return inFlight.size() + unstable.size();
        }
    }

    boolean dirty() {
        synchronized (lock) {
            return pending != null || !inFlight.isEmpty() || !unstable.isEmpty() || deferred != null;
        }
    }

    /** After a truncate: this client's idea of the end no longer holds. */
    void truncated() {
        synchronized (lock) {
            localEnd = -1;
            localBytes = 0;
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
                int n = pending.readableBytes() + RECORD_COST;
                pending.release();
                pending = null;
                budget.release(n);
            }
            for (Write w : unstable) {
                discard(w);
            }
            unstable.clear();
            unstableBytes = 0;
            deferred = null;
        }
    }
}
