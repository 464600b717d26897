package io.coffer.core.rpc;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledUnsafeDirectByteBuf;
import io.netty.util.internal.CleanableDirectBuffer;
import io.netty.util.internal.PlatformDependent;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Direct memory for large frames (1 MiB READ replies as they arrive, and the client daemon's
 * 1 MiB gathered WRITEs), kept for reuse while frames keep coming and given back to the system
 * once they stop. A buffer's capacity is fixed at its slot size.
 *
 * <p>Why not the pooled allocator: a client daemon's allocator works in 4 MiB chunks (larger ones
 * cost it RSS), and a 1 MiB frame is a quarter of one. A chunk whose use reached a quarter is
 * freed as soon as it is empty again, so during a sequential read, with a few 1 MiB replies in
 * flight at a time, the pool made, zeroed and freed a 4 MiB chunk over and over: ~11% of the
 * daemon's CPU in the allocation alone during a cold read (async-profiler, docs/performance.md),
 * plus the page faults of the fresh memory. Here a released frame's memory goes back on a short
 * list, and {@link #trim()} frees the list when nothing was taken since the previous trim.
 */
public final class FrameBuffers {
    /** Frames smaller than this come from the allocator as before. */
    static final int MIN_FRAME = 256 << 10;

    private final int slot;
    private final int keep;
    private final ConcurrentLinkedDeque<CleanableDirectBuffer> idle = new ConcurrentLinkedDeque<>();
    private final AtomicInteger idleCount = new AtomicInteger();
    private final AtomicLong taken = new AtomicLong();
    private final AtomicInteger live = new AtomicInteger();
    private long takenAtLastTrim;
    private volatile boolean closed;

    /**
     * @param slot the size of each buffer: frames of {@link #MIN_FRAME} up to this many bytes are served here
     * @param keep how many released buffers to hold for reuse
     */
    public FrameBuffers(int slot, int keep) {
        if (slot < MIN_FRAME || keep < 0) {
            throw new IllegalArgumentException("slot " + slot + ", keep " + keep);
        }
        this.slot = slot;
        this.keep = keep;
    }

    /** A buffer with room for {@code size} bytes: reused memory when the size suits, else from {@code alloc}. */
    public ByteBuf buffer(ByteBufAllocator alloc, int size) {
        if (size < MIN_FRAME || size > slot) {
            return alloc.ioBuffer(size);
        }
        taken.incrementAndGet();
        CleanableDirectBuffer mem = idle.pollFirst();
        if (mem != null) {
            idleCount.decrementAndGet();
        } else {
            mem = PlatformDependent.allocateDirect(slot);
        }
        live.incrementAndGet();
        mem.buffer().clear();
        // A buffer built over existing memory starts out full (all of it readable).
        return new Frame(alloc, mem).clear();
    }

    private void giveBack(CleanableDirectBuffer mem) {
        live.decrementAndGet();
        if (!closed && idleCount.incrementAndGet() <= keep) {
            idle.offerFirst(mem);
            if (closed && idle.remove(mem)) {
                idleCount.decrementAndGet();
                mem.clean();
            }
        } else if (closed) {
            mem.clean();
        } else {
            idleCount.decrementAndGet();
            mem.clean();
        }
    }

    /**
     * Frees every held buffer if none was taken since the previous call; meant to run every few
     * seconds, so memory held for a stream of reads is given back soon after the stream ends.
     */
    public synchronized void trim() {
        long now = taken.get();
        if (now != takenAtLastTrim) {
            takenAtLastTrim = now;
            return;
        }
        CleanableDirectBuffer mem;
        while ((mem = idle.pollFirst()) != null) {
            idleCount.decrementAndGet();
            mem.clean();
        }
    }

    /** Buffers held for reuse, for tests. */
    int idle() {
        return idleCount.get();
    }

    /** Buffers handed out and not yet released, for tests. */
    int live() {
        return live.get();
    }

    /** Frees every held buffer now (the owner is closing); buffers still in use are freed when released. */
    public void close() {
        closed = true;
        CleanableDirectBuffer mem;
        while ((mem = idle.pollFirst()) != null) {
            idleCount.decrementAndGet();
            mem.clean();
        }
    }

    /** A frame buffer over reusable memory: when its last reference goes, the memory returns to the list. */
    private final class Frame extends UnpooledUnsafeDirectByteBuf {
        private final CleanableDirectBuffer mem;

        Frame(ByteBufAllocator alloc, CleanableDirectBuffer mem) {
            // Built over a buffer it does not own, the superclass never frees it.
            super(alloc, mem.buffer(), slot);
            this.mem = mem;
        }

        @Override
        protected void deallocate() {
            super.deallocate();
            giveBack(mem);
        }
    }
}
