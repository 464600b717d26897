package io.coffer.client.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** At most a few FUSE threads wait for requests; the rest join in only when those are all busy. */
class FuseReadersTest {
    private final ExecutorService pool = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    private CompletableFuture<Boolean> turnIn(FuseReaders r) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return r.awaitTurn();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }, pool);
    }

    private static void assertWaiting(CompletableFuture<Boolean> f) {
        assertThrows(TimeoutException.class, () -> f.get(200, TimeUnit.MILLISECONDS), "should still be waiting");
    }

    @Test
    void onlyTheTargetReadsAndOthersWait() throws Exception {
        FuseReaders r = new FuseReaders(2);
        assertTrue(r.awaitTurn());
        assertTrue(r.awaitTurn());
        assertEquals(2, r.reading());
        CompletableFuture<Boolean> third = turnIn(r);
        assertWaiting(third);
        // One request taken, one reader left: a one-at-a-time workload wakes nobody new.
        r.took();
        assertWaiting(third);
        assertEquals(1, r.reading());
        // The thread that served it reads again at once.
        assertTrue(r.awaitTurn());
        assertEquals(2, r.reading());
        assertWaiting(third);
    }

    @Test
    void theLastReaderTakingARequestWakesAWaitingThread() throws Exception {
        FuseReaders r = new FuseReaders(2);
        assertTrue(r.awaitTurn());
        assertTrue(r.awaitTurn());
        CompletableFuture<Boolean> third = turnIn(r);
        CompletableFuture<Boolean> fourth = turnIn(r);
        assertWaiting(third);
        r.took();
        r.took();
        // Both readers are busy: one waiting thread starts reading, not both.
        CompletableFuture<Object> first = CompletableFuture.anyOf(third, fourth);
        assertEquals(Boolean.TRUE, first.get(5, TimeUnit.SECONDS));
        assertEquals(1, r.reading());
        CompletableFuture<Boolean> other = third.isDone() ? fourth : third;
        assertWaiting(other);
        // That one takes a request too: the next waiting thread starts.
        r.took();
        assertTrue(other.get(5, TimeUnit.SECONDS));
    }

    @Test
    void closingReleasesEveryWaitingThreadWithoutATurn() throws Exception {
        FuseReaders r = new FuseReaders(1);
        assertTrue(r.awaitTurn());
        CompletableFuture<Boolean> a = turnIn(r);
        CompletableFuture<Boolean> b = turnIn(r);
        assertWaiting(a);
        r.gaveUp();
        r.close();
        assertFalse(a.get(5, TimeUnit.SECONDS) && b.get(5, TimeUnit.SECONDS),
                "at most one could have taken the turn given up before the close");
        assertFalse(r.awaitTurn(), "no turns after the close");
    }

    @Test
    void aTargetBelowOneIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new FuseReaders(0));
    }
}
