package io.coffer.client.fuse;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.buffer.UnpooledUnsafeDirectByteBuf;
import io.netty.util.internal.PlatformDependent;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Request-sized direct buffers for gathering a stream's writes, reused instead of taken from the
 * pooled allocator. A 1 MiB buffer is a quarter of one of the allocator's 4 MiB chunks, and a
 * chunk holding only such buffers is freed as soon as they are all released: during a sequential
 * write the allocator made, zeroed and unmapped a chunk every few MiB, on the FUSE thread that
 * holds the application's write (45% of the daemon's time in its write callback, by
 * async-profiler). Larger chunks avoid that but cost ~13 MiB of peak RSS.
 */
final class GatherBuffers {
    private final int size;
    private final int keep;
    private final ConcurrentLinkedDeque<ByteBuffer> free = new ConcurrentLinkedDeque<>();
    private final AtomicInteger freeCount = new AtomicInteger();
    private final AtomicInteger made = new AtomicInteger();

    /** Buffers of {@code size} bytes; at most {@code keep} are kept for reuse when released. */
    GatherBuffers(int size, int keep) {
        this.size = size;
        this.keep = keep;
    }

    /**
     * An empty buffer of {@link #size} bytes, fixed capacity; released as any buffer is.
     *
     * @throws OutOfMemoryError when direct memory is exhausted, as the pooled allocator does
     */
    ByteBuf take() {
        ByteBuffer mem = free.pollFirst();
        if (mem != null) {
            freeCount.decrementAndGet();
        } else {
            mem = ByteBuffer.allocateDirect(size);
            made.incrementAndGet();
        }
        mem.clear();
        return new Recycled(mem);
    }

    private void give(ByteBuffer mem) {
        if (freeCount.incrementAndGet() <= keep) {
            free.addFirst(mem);
        } else {
            freeCount.decrementAndGet();
            PlatformDependent.freeDirectBuffer(mem);
        }
    }

    /** Buffers allocated so far (not reused), for tests. */
    int made() {
        return made.get();
    }

    /** Buffers waiting for reuse, for tests. */
    int idle() {
        return freeCount.get();
    }

    private final class Recycled extends UnpooledUnsafeDirectByteBuf {
        private final ByteBuffer mem;

        Recycled(ByteBuffer mem) {
            // Wraps mem without owning it: the superclass leaves it alone when released.
            super(UnpooledByteBufAllocator.DEFAULT, mem, mem.capacity());
            this.mem = mem;
            clear();
        }

        @Override
        protected void deallocate() {
            super.deallocate();
            give(mem);
        }
    }
}
