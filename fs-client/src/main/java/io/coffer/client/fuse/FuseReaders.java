package io.coffer.client.fuse;

/**
 * How many of the loop's threads wait in read(2) on /dev/fuse at once. The kernel gives each
 * request to the reader that has waited longest, so with every idle thread reading, a workload
 * that makes one request at a time (tar, cp, a shell loop) wakes each of the loop's threads in
 * turn, each with cold caches. Here at most {@code target} threads read; the others wait on this
 * object. A reader that takes a request and leaves no reader behind wakes one of them, so the
 * loop still grows to all of its threads while requests come in parallel, and shrinks back once
 * they stop.
 */
final class FuseReaders {
    private final int target;
    private int reading;
    private boolean closed;

    FuseReaders(int target) {
        if (target < 1) {
            throw new IllegalArgumentException("target " + target);
        }
        this.target = target;
    }

    /**
     * Waits until this thread may read the next request; false once the loop is closing. After a
     * true return the thread reads until a read returns a request ({@link #took}) or it leaves the
     * loop ({@link #gaveUp}); reads interrupted without a request keep its turn.
     */
    synchronized boolean awaitTurn() throws InterruptedException {
        while (!closed && reading >= target) {
            wait();
        }
        if (closed) {
            return false;
        }
        reading++;
        return true;
    }

    /** This thread's read returned a request: it no longer reads, and if no one else does, a waiting thread starts. */
    synchronized void took() {
        reading--;
        if (reading == 0) {
            notify();
        }
    }

    /** This thread's read returned without a request and the thread leaves the loop. */
    synchronized void gaveUp() {
        reading--;
        notify();
    }

    /** The file system is gone: every waiting thread returns false. */
    synchronized void close() {
        closed = true;
        notifyAll();
    }

    /** Threads reading or about to, for tests. */
    synchronized int reading() {
        return reading;
    }
}
