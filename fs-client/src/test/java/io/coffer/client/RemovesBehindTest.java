package io.coffer.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RemovesBehindTest {
    @Test
    void aBarrierWaitsForTheRemovesBeforeItAndNotForLaterOnes() throws Exception {
        RemovesBehind r = new RemovesBehind();
        assertTrue(r.barrier().isDone(), "nothing in flight: no wait");
        long a = r.begin(1, "n1", 101);
        long b = r.begin(1, "n2", 102);
        CompletableFuture<Void> first = r.barrier();
        long c = r.begin(1, "n3", 103);
        CompletableFuture<Void> second = r.barrier();
        assertFalse(first.isDone());
        r.end(b);
        assertFalse(first.isDone(), "a is still in flight");
        r.end(a);
        assertTrue(first.isDone(), "a and b answered, in any order");
        assertFalse(second.isDone(), "c began before the second barrier");
        long d = r.begin(1, "n4", 104);
        r.end(c);
        assertTrue(second.isDone(), "d began after the second barrier and does not hold it");
        assertTrue(r.touches(104));
        r.end(d);
        assertTrue(r.barrier().isDone(), "nothing in flight");
        r.end(d);
        assertTrue(r.barrier().isDone(), "ending twice changes nothing");
        long e = r.begin(1, "n9", 109);
        assertFalse(r.barrier().isDone(), "and the count still works");
        r.end(e);
    }

    @Test
    void whatARemoveInFlightTouchesIsItsDirectoryItsInodeAndItsName() throws Exception {
        RemovesBehind r = new RemovesBehind();
        long a = r.begin(1, "x", 10);
        long b = r.begin(1, "y", 10);
        assertTrue(r.touches(1), "the directory");
        assertTrue(r.touches(10), "the removed inode");
        assertFalse(r.touches(2));
        assertTrue(r.touches(1, "x"));
        assertFalse(r.touches(1, "z"), "another name of the same directory");
        assertFalse(r.touches(2, "x"), "the same name in another directory");
        r.end(a);
        assertFalse(r.touches(1, "x"));
        assertTrue(r.touches(10), "still one link of it in flight");
        r.end(b);
        assertFalse(r.touches(1));
        assertFalse(r.touches(10));
        assertFalse(r.touches(1, "y"));
    }

    @Test
    void aFullWindowMakesTheNextRemoveWaitForASlot() throws Exception {
        RemovesBehind r = new RemovesBehind();
        long[] seqs = new long[RemovesBehind.MAX_IN_FLIGHT];
        for (int i = 0; i < seqs.length; i++) {
            seqs[i] = r.begin(1, "n5", 105);
        }
        AtomicLong got = new AtomicLong();
        CountDownLatch started = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            started.countDown();
            try {
                got.set(r.begin(1, "n6", 106));
            } catch (Exception e) {
                got.set(-1);
            }
        });
        t.start();
        started.await();
        t.join(200);
        assertTrue(t.isAlive(), "the window is full");
        assertEquals(0, got.get());
        r.end(seqs[7]);
        t.join(TimeUnit.SECONDS.toMillis(10));
        assertFalse(t.isAlive(), "a slot came free");
        assertEquals(RemovesBehind.MAX_IN_FLIGHT + 1, got.get());
    }

    @Test
    void awaitReturnsOnceEverythingBeforeItIsAnswered() throws Exception {
        RemovesBehind r = new RemovesBehind();
        long a = r.begin(1, "n7", 107);
        CountDownLatch done = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            try {
                r.await();
                done.countDown();
            } catch (Exception e) {
                // left counted: the assertion below fails
            }
        });
        t.start();
        assertFalse(done.await(200, TimeUnit.MILLISECONDS), "a is in flight");
        r.end(a);
        assertTrue(done.await(10, TimeUnit.SECONDS));
    }
}
