package io.coffer.server.fs;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Group commit: many threads that need "everything so far is durable" share one pass of fsyncs.
 * A caller takes a ticket, then whoever holds the lock syncs everything requested up to the
 * moment its pass starts; a caller whose ticket was covered by another pass returns at once.
 */
final class GroupSync {
    private final AtomicLong requested = new AtomicLong();
    private final Object lock = new Object();
    private long completed;
    private final SyncAction action;

    interface SyncAction {
        void sync() throws IOException;
    }

    GroupSync(SyncAction action) {
        this.action = action;
    }

    void sync() throws IOException {
        long ticket = requested.incrementAndGet();
        synchronized (lock) {
            if (completed >= ticket) {
                return;
            }
            long covering = requested.get();
            action.sync();
            completed = covering;
        }
    }

    /** True when something was requested that no pass has covered yet. */
    boolean pending() {
        synchronized (lock) {
            return requested.get() > completed;
        }
    }

    /** Notes that there are writes to sync without waiting for them. */
    void markDirty() {
        requested.incrementAndGet();
    }
}
