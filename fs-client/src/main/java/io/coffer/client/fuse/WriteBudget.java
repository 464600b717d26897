package io.coffer.client.fuse;

import io.coffer.core.status.IoException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Bounds the bytes a mount holds for write-behind (gathered, in flight, or unstable until
 * COMMIT), so memory does not grow with file size. A writer that finds the budget spent asks
 * for commits and waits: that is the backpressure an application sees.
 */
final class WriteBudget {
    private final Semaphore permits;
    private final Runnable onPressure;
    private final int total;

    WriteBudget(int bytes, Runnable onPressure) {
        this.total = bytes;
        this.permits = new Semaphore(bytes);
        this.onPressure = onPressure;
    }

    void acquire(int n) throws IoException {
        if (permits.tryAcquire(n)) {
            return;
        }
        onPressure.run();
        try {
            while (!permits.tryAcquire(n, 50, TimeUnit.MILLISECONDS)) {
                onPressure.run();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IoException("interrupted while waiting for write buffer space");
        }
    }

    void release(int n) {
        permits.release(n);
    }

    int total() {
        return total;
    }

    int available() {
        return permits.availablePermits();
    }
}
