package io.coffer.client.fuse;

import io.coffer.client.RemoteFs;
import io.coffer.core.Credentials;
import io.coffer.core.FileHandle;
import io.coffer.core.ReadResult;
import io.coffer.core.status.IoException;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;

/**
 * Read-ahead for one open file. The kernel asks for 128 KiB at a time and waits for each answer
 * (its own read-ahead keeps only a few requests in flight), so a stream read costs one network
 * round trip per 128 KiB. When reads are sequential this fetches the next few windows of
 * {@link #WINDOW} bytes with large READs in the background and answers from them.
 *
 * <p>Memory is bounded per file ({@link #DEPTH} windows) and per mount (a shared permit pool);
 * without permits it simply does not read ahead. Windows are dropped when the file is written
 * through this client, so a read never returns bytes older than the writer's own.
 */
final class ReadAhead {
    static final int WINDOW = 1 << 20;
    static final int DEPTH = 4;

    private final RemoteFs fs;
    private final FileHandle handle;
    private final Semaphore mountBudget;
    private final TreeMap<Long, CompletableFuture<ReadResult>> windows = new TreeMap<>();
    private long nextExpected = -1;
    private int sequentialHits;
    private long knownEof = Long.MAX_VALUE;

    ReadAhead(RemoteFs fs, FileHandle handle, Semaphore mountBudget) {
        this.fs = fs;
        this.handle = handle;
        this.mountBudget = mountBudget;
    }

    /** The result of a read the caller should do itself, or null if this answered it into {@code out}. */
    interface Sink {
        void accept(ByteBuf data, int from, int length) throws IOException;
    }

    /**
     * Answers a read of {@code size} bytes at {@code offset} from read-ahead windows if the
     * pattern is sequential; returns the number of bytes given to {@code sink}, or -1 when the
     * caller should read directly.
     */
    synchronized int read(Credentials creds, long offset, int size, Sink sink) throws IOException {
        boolean sequential = offset == nextExpected || windowFor(offset) != null;
        nextExpected = offset + size;
        if (!sequential) {
            sequentialHits = 0;
            dropAll();
            return -1;
        }
        if (++sequentialHits < 2 && windows.isEmpty()) {
            return -1;
        }
        int done = 0;
        while (done < size) {
            long pos = offset + done;
            if (pos >= knownEof) {
                if (done == 0) {
                    // Past the end we saw: the file may have grown since; ask the server directly.
                    knownEof = Long.MAX_VALUE;
                    return -1;
                }
                break;
            }
            long start = pos - (pos % WINDOW);
            CompletableFuture<ReadResult> f = windows.get(start);
            if (f == null) {
                f = fetch(creds, start);
                if (f == null) {
                    return done == 0 ? -1 : done;
                }
            }
            ReadResult r = await(f);
            int have = r.data().readableBytes();
            if (r.eof()) {
                knownEof = start + have;
            }
            int from = (int) (pos - start);
            if (from >= have) {
                break;
            }
            int n = Math.min(size - done, have - from);
            sink.accept(r.data(), from, n);
            done += n;
            if (from + n >= have && !r.eof()) {
                drop(start);
            }
            if (r.eof() && from + n >= have) {
                break;
            }
        }
        // Keep the pipeline full ahead of where the reader is.
        long cur = offset + done;
        long base = cur - (cur % WINDOW);
        for (int i = 0; i < DEPTH; i++) {
            long w = base + (long) i * WINDOW;
            if (w >= knownEof) {
                break;
            }
            if (!windows.containsKey(w) && fetch(creds, w) == null) {
                break;
            }
        }
        // Windows behind the reader will not be asked for again.
        Iterator<Map.Entry<Long, CompletableFuture<ReadResult>>> it = windows.headMap(base, false).entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<Long, CompletableFuture<ReadResult>> e = it.next();
            release(e.getValue());
            it.remove();
        }
        return done;
    }

    private CompletableFuture<ReadResult> windowFor(long offset) {
        return windows.get(offset - (offset % WINDOW));
    }

    private CompletableFuture<ReadResult> fetch(Credentials creds, long start) {
        if (windows.size() >= DEPTH + 1 || !mountBudget.tryAcquire()) {
            return null;
        }
        CompletableFuture<ReadResult> f = fs.readAsync(creds, handle, start, WINDOW);
        windows.put(start, f);
        return f;
    }

    private static ReadResult await(CompletableFuture<ReadResult> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IoException("interrupted");
        } catch (ExecutionException e) {
            Throwable c = e.getCause() instanceof CompletionException && e.getCause().getCause() != null
                    ? e.getCause().getCause() : e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            throw new IoException(String.valueOf(c));
        }
    }

    private void drop(long start) {
        CompletableFuture<ReadResult> f = windows.remove(start);
        if (f != null) {
            release(f);
        }
    }

    private void release(CompletableFuture<ReadResult> f) {
        f.whenComplete((r, e) -> {
            if (r != null) {
                r.data().release();
            }
            mountBudget.release();
        });
    }

    /** Forgets everything fetched (the file changed, or the reader went elsewhere). */
    synchronized void dropAll() {
        for (CompletableFuture<ReadResult> f : windows.values()) {
            release(f);
        }
        windows.clear();
        knownEof = Long.MAX_VALUE;
    }
}
