package io.coffer.client.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.client.RemoteFs;
import io.coffer.client.RpcClient;
import io.coffer.core.CreateMode;
import io.coffer.core.Entry;
import io.coffer.core.FileSystemId;
import io.coffer.core.OpContext;
import io.coffer.core.rpc.Op;
import io.coffer.core.status.NoEntException;
import io.coffer.server.CofferServer;
import io.coffer.client.LoopbackServer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Lookups in a directory this mount made: answered without a round trip, for the entry timeout only. */
class NodeCacheTest {
    static final long TTL_MILLIS = 300;
    @TempDir
    Path dir;
    CofferServer server;
    RpcClient rpc;
    RpcClient otherRpc;
    RemoteFs fs;
    RemoteFs other;
    Entry root;
    Entry otherRoot;
    NodeCache cache;

    @BeforeEach
    void start() throws IOException {
        server = LoopbackServer.start(dir.resolve("data"), 0);
        String fsId = server.fileSystems().createFileSystem("t", true, null, 0, "test").id();
        rpc = new RpcClient(RpcClient.Options.of("127.0.0.1", server.address().getPort()));
        rpc.connect(5000);
        otherRpc = new RpcClient(RpcClient.Options.of("127.0.0.1", server.address().getPort()));
        otherRpc.connect(5000);
        fs = new RemoteFs(rpc);
        other = new RemoteFs(otherRpc);
        root = fs.mount(OpContext.root(), FileSystemId.parse(fsId), "/");
        otherRoot = other.mount(OpContext.root(), FileSystemId.parse(fsId), "/");
        cache = new NodeCache(fs, root, TTL_MILLIS, TTL_MILLIS);
    }

    @AfterEach
    void stop() throws IOException {
        for (AutoCloseable c : new AutoCloseable[] {rpc, otherRpc, server}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                // closing anyway
            }
        }
    }

    private Entry mkdirHere(String name) throws IOException {
        Entry d = fs.mkdir(OpContext.root(), root.handle(), name, 0755);
        cache.added("/", name, d);
        cache.madeEmpty("/" + name, d.attributes());
        return d;
    }

    /** What CofferFuse does for a create: the call, then the cache told of the name and the directory. */
    private Entry createHere(String dirPath, Entry d, String name) throws IOException {
        RemoteFs.Made m = fs.createIn(OpContext.root(), d.handle(), name, 0644, CreateMode.EXCLUSIVE);
        cache.added(dirPath, name, m.entry());
        cache.madeIn(dirPath, d.handle(), m.dirAfter(), false);
        return m.entry();
    }

    private long lookups() {
        return rpc.callCount(Op.LOOKUP);
    }

    @Test
    void aNameMissingFromADirectoryThisMountMadeIsAbsentWithoutALookup() throws Exception {
        Entry d = mkdirHere("fresh");
        long before = lookups();
        assertThrows(NoEntException.class, () -> cache.resolve(OpContext.root(), "/fresh/a.c"));
        Entry made = fs.create(OpContext.root(), d.handle(), "a.c", 0644, CreateMode.EXCLUSIVE);
        cache.added("/fresh", "a.c", made);
        assertEquals(made.handle(), cache.resolve(OpContext.root(), "/fresh/a.c"));
        assertThrows(NoEntException.class, () -> cache.resolve(OpContext.root(), "/fresh/b.c"));
        assertEquals(before, lookups(), "no LOOKUP went to the server");
    }

    @Test
    void anotherClientsNameIsSeenOnceTheEntryTimeoutHasPassed() throws Exception {
        Entry d = mkdirHere("shared");
        Entry theirs = other.create(OpContext.root(), d.handle(), "theirs", 0644, CreateMode.EXCLUSIVE);
        // Inside the timeout the cache may still say "absent", as it may keep a removed name.
        Thread.sleep(TTL_MILLIS + 100);
        long before = lookups();
        assertEquals(theirs.handle(), cache.resolve(OpContext.root(), "/shared/theirs"));
        assertEquals(before + 2, lookups(), "the directory's entry and the name were looked up again");
    }

    @Test
    void aRenameIntoTheDirectoryOfANameTheCacheNeverSawEndsTheShortcut() throws Exception {
        Entry d = mkdirHere("target");
        Entry outside = fs.create(OpContext.root(), root.handle(), "uncached", 0644, CreateMode.EXCLUSIVE);
        fs.rename(OpContext.root(), root.handle(), "uncached", d.handle(), "moved");
        cache.renamed("/uncached", "/target/moved");
        assertEquals(outside.handle(), cache.resolve(OpContext.root(), "/target/moved"));
    }

    @Test
    void creatingANameThatTurnsOutToExistEndsTheShortcut() throws Exception {
        Entry d = mkdirHere("raced");
        other.create(OpContext.root(), d.handle(), "same", 0644, CreateMode.EXCLUSIVE);
        assertThrows(io.coffer.core.status.ExistException.class,
                () -> fs.create(OpContext.root(), d.handle(), "same", 0644, CreateMode.EXCLUSIVE));
        cache.maybeIncomplete("/raced"); // what CofferFuse does on EEXIST
        long before = lookups();
        cache.resolve(OpContext.root(), "/raced/same");
        assertEquals(before + 1, lookups());
    }

    @Test
    void creatingOnInADirectoryThisMountMadeKeepsItKnownPastTheTimeout() throws Exception {
        Entry d = mkdirHere("busy");
        long before = lookups();
        long end = System.nanoTime() + 3 * TTL_MILLIS * 1_000_000L;
        int i = 0;
        while (System.nanoTime() < end) {
            String name = "f" + i++;
            assertThrows(NoEntException.class, () -> cache.resolve(OpContext.root(), "/busy/" + name));
            createHere("/busy", d, name);
            Thread.sleep(10);
        }
        assertTrue(i > 30, "created " + i);
        // The directory's own entry is looked up again once per timeout (at most 4 here); without
        // the shortcut every name made after the first timeout would cost one, ~2/3 of them.
        assertTrue(lookups() - before <= 4, "LOOKUPs while creating " + i + " names: " + (lookups() - before));
    }

    @Test
    void anotherClientsCreateBetweenOursEndsTheShortcutWithinTheTimeout() throws Exception {
        Entry d = mkdirHere("contended");
        createHere("/contended", d, "mine1");
        Entry theirs = other.create(OpContext.root(), d.handle(), "theirs", 0644, CreateMode.EXCLUSIVE);
        createHere("/contended", d, "mine2"); // the directory's change moved by two: not ours alone
        Thread.sleep(TTL_MILLIS + 100);
        createHere("/contended", d, "mine3");
        long before = lookups();
        assertEquals(theirs.handle(), cache.resolve(OpContext.root(), "/contended/theirs"),
                "once the timeout has passed the other client's name is found");
        assertEquals(before + 2, lookups(), "the directory's entry and the name were looked up again");
    }

    @Test
    void theDirectorysAttributesComeFromTheCreatesReply() throws Exception {
        Entry d = mkdirHere("stamped");
        createHere("/stamped", d, "x");
        long getattrs = rpc.callCount(Op.GETATTR);
        io.coffer.core.FileAttributes cached = cache.attrs(OpContext.root(), d.handle(), false);
        assertEquals(getattrs, rpc.callCount(Op.GETATTR), "answered from the cache");
        assertEquals(fs.getattr(OpContext.root(), d.handle()), cached, "and exactly the server's");
    }

    @Test
    void lookingUpManyNamesInOneDirectoryListsItInsteadOfLookingUpEach() throws Exception {
        int n = 600;
        java.util.Map<String, io.coffer.core.FileHandle> made = filled("filled", n);
        // A long timeout for this test: the whole scan must fall inside one window.
        NodeCache slow = new NodeCache(fs, root, 60_000, 60_000);
        long before = lookups();
        long listings = rpc.callCount(Op.READDIR);
        resolvesAll(slow, made, "/filled", 0, n);
        // The directory's own entry, then PREFETCH_AFTER - 1 names one by one; the rest from one listing.
        assertEquals(NodeCache.PREFETCH_AFTER, lookups() - before, "LOOKUPs for " + n + " names");
        assertEquals(1, rpc.callCount(Op.READDIR) - listings, "one listing (a page holds them all)");
        io.coffer.core.FileAttributes a = slow.attrs(OpContext.root(), made.get("f500"), false);
        assertEquals(other.getattr(OpContext.root(), made.get("f500")), a, "attributes came with the listing");
        // A name the listing did not have is still looked up, and its absence is still an error.
        assertThrows(NoEntException.class, () -> slow.resolve(OpContext.root(), "/filled/none"));
    }

    /** Resolves f{from} to f{to - 1} under {@code dir} in order, each to the handle it was made with. */
    private static void resolvesAll(NodeCache cache, java.util.Map<String, io.coffer.core.FileHandle> made, String dir,
            int from, int to) throws IOException {
        for (int i = from; i < to; i++) {
            assertEquals(made.get("f" + i), cache.resolve(OpContext.root(), dir + "/f" + i));
        }
    }

    private java.util.Map<String, io.coffer.core.FileHandle> filled(String name, int n) throws IOException {
        Entry d = other.mkdir(OpContext.root(), otherRoot.handle(), name, 0755);
        java.util.Map<String, io.coffer.core.FileHandle> made = new java.util.HashMap<>();
        for (int i = 0; i < n; i++) {
            made.put("f" + i, other.create(OpContext.root(), d.handle(), "f" + i, 0644, CreateMode.EXCLUSIVE).handle());
        }
        return made;
    }

    @Test
    void aScanOfADirectoryLargerThanOneListingListsOnFromWhereItStopped() throws Exception {
        int n = 600;
        java.util.Map<String, io.coffer.core.FileHandle> made = filled("large", n);
        // Listings of at most 128 entries, so 600 names take five.
        NodeCache slow = new NodeCache(fs, root, 60_000, 60_000, 128);
        long before = lookups();
        long listings = rpc.callCount(Op.READDIR);
        resolvesAll(slow, made, "/large", 0, n);
        assertEquals(NodeCache.PREFETCH_AFTER, lookups() - before, "LOOKUPs for " + n + " names");
        assertEquals(5, rpc.callCount(Op.READDIR) - listings, "listings of 128, each going on from the last");
    }

    @Test
    void aListingsLaterPagesArriveWhileTheScanUsesTheFirst() throws Exception {
        int n = 600;
        java.util.Map<String, io.coffer.core.FileHandle> made = filled("paged", n);
        // Pages after a listing's first wait for the gate: the lookup that lists must not.
        CompletableFuture<Void> gate = new CompletableFuture<>();
        NodeCache.Lister gated = (ctx, d, cookie, max) -> cookie == 0 ? fs.readdirAsync(ctx, d, cookie, max)
                : gate.thenCompose(x -> fs.readdirAsync(ctx, d, cookie, max));
        // Listings of at most 512 entries in pages of 128.
        NodeCache slow = new NodeCache(fs, root, 60_000, 60_000, 512, 128, gated);
        long before = lookups();
        long listings = rpc.callCount(Op.READDIR);
        assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), () -> {
            resolvesAll(slow, made, "/paged", 0, 128);
        }, "the first page is used before the second has come");
        assertEquals(NodeCache.PREFETCH_AFTER, lookups() - before, "LOOKUPs before the listing");
        assertEquals(1, rpc.callCount(Op.READDIR) - listings, "the second page waits for the gate");
        // A name past the first page waits for the page on its way, and is not looked up on its own.
        CompletableFuture<io.coffer.core.FileHandle> next = CompletableFuture.supplyAsync(() -> {
            try {
                return slow.resolve(OpContext.root(), "/paged/f128");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        Thread.sleep(200);
        assertFalse(next.isDone(), "waits for the listing's next page");
        gate.complete(null);
        assertEquals(made.get("f128"), next.get(10, java.util.concurrent.TimeUnit.SECONDS));
        resolvesAll(slow, made, "/paged", 129, n);
        assertEquals(NodeCache.PREFETCH_AFTER, lookups() - before, "no LOOKUP after the listing began");
        // Four pages of 128 make the first listing; a fifth goes on from it to the end.
        assertEquals(5, rpc.callCount(Op.READDIR) - listings);
    }

    @Test
    void namesRemovedWhileAPageWasOnItsWayAreLeftOutOfItAndTheRestIsUsed() throws Exception {
        int n = 300;
        java.util.Map<String, io.coffer.core.FileHandle> made = filled("unlinking", n);
        // Later pages are read from the server at once but handed over only when the gate opens,
        // so they show names removed in between: what `rm` of a directory's files meets.
        CompletableFuture<Void> gate = new CompletableFuture<>();
        NodeCache.Lister late = (ctx, d, cookie, max) -> cookie == 0 ? fs.readdirAsync(ctx, d, cookie, max)
                : fs.readdirAsync(ctx, d, cookie, max).thenCombine(gate, (l, x) -> l);
        NodeCache slow = new NodeCache(fs, root, 60_000, 60_000, 512, 128, late);
        for (int i = 0; i < NodeCache.PREFETCH_AFTER; i++) {
            slow.resolve(OpContext.root(), "/unlinking/f" + i);
        }
        io.coffer.core.FileHandle dirH = slow.resolve(OpContext.root(), "/unlinking");
        for (String name : new String[] {"f130", "f140"}) {
            fs.remove(OpContext.root(), dirH, name);
            slow.removed("/unlinking/" + name);
        }
        gate.complete(null);
        long before = lookups();
        for (int i = 128; i < n; i++) {
            if (i == 130 || i == 140) {
                int at = i;
                assertThrows(NoEntException.class, () -> slow.resolve(OpContext.root(), "/unlinking/f" + at));
            } else {
                assertEquals(made.get("f" + i), slow.resolve(OpContext.root(), "/unlinking/f" + i));
            }
        }
        assertEquals(2, lookups() - before, "only the removed names were asked of the server");
    }

    @Test
    void aFailedLaterPageLeavesLookupsOneByOne() throws Exception {
        int n = 300;
        java.util.Map<String, io.coffer.core.FileHandle> made = filled("failing", n);
        NodeCache.Lister failing = (ctx, d, cookie, max) -> cookie == 0 ? fs.readdirAsync(ctx, d, cookie, max)
                : CompletableFuture.failedFuture(new io.coffer.core.status.IoException("connection lost"));
        NodeCache slow = new NodeCache(fs, root, 60_000, 60_000, 512, 128, failing);
        long before = lookups();
        resolvesAll(slow, made, "/failing", 0, n);
        // The first 31 names, then every name the failed pages would have held.
        assertEquals(NodeCache.PREFETCH_AFTER + (n - 128), lookups() - before);
    }

    @Test
    void lookupsInAnotherOrderThanTheListingsDoNotListOn() throws Exception {
        int n = 300;
        java.util.Map<String, io.coffer.core.FileHandle> made = filled("reversed", n);
        NodeCache slow = new NodeCache(fs, root, 60_000, 60_000, 128);
        long before = lookups();
        long listings = rpc.callCount(Op.READDIR);
        // Backwards from the end: the one listing of the window (f0 to f127) holds none of the
        // next names until the scan reaches them, so listing on would be wasted.
        for (int i = n - 1; i >= 0; i--) {
            assertEquals(made.get("f" + i), slow.resolve(OpContext.root(), "/reversed/f" + i));
        }
        assertEquals(1, rpc.callCount(Op.READDIR) - listings, "one listing in the window");
        assertEquals(1 + (n - 128), lookups() - before, "the directory's entry and every name the listing did not hold");
    }

    @Test
    void aListingNeverBringsBackANameThisMountRemoved() throws Exception {
        Entry d = other.mkdir(OpContext.root(), otherRoot.handle(), "churn", 0755);
        for (int i = 0; i < 100; i++) {
            other.create(OpContext.root(), d.handle(), "f" + i, 0644, CreateMode.EXCLUSIVE);
        }
        NodeCache slow = new NodeCache(fs, root, 60_000, 60_000);
        for (int i = 0; i < NodeCache.PREFETCH_AFTER - 1; i++) {
            slow.resolve(OpContext.root(), "/churn/f" + i);
        }
        // Removed by this mount before the listing: absent from it, and from the cache.
        fs.remove(OpContext.root(), d.handle(), "f90");
        slow.removed("/churn/f90");
        slow.resolve(OpContext.root(), "/churn/f50"); // the miss that lists the directory
        long before = lookups();
        assertThrows(NoEntException.class, () -> slow.resolve(OpContext.root(), "/churn/f90"));
        assertEquals(before + 1, lookups(), "the removed name was asked of the server, not found in the cache");
        slow.resolve(OpContext.root(), "/churn/f99");
        assertEquals(before + 1, lookups(), "the others came from the listing");
    }

    @Test
    void expiredNamesAndAttributesAreDroppedSoTheCacheDoesNotGrowWithEveryFileSeen() throws Exception {
        Entry d = mkdirHere("many");
        for (int i = 0; i < 50; i++) {
            createHere("/many", d, "f" + i);
        }
        assertEquals(51, cache.size());
        cache.sweep(System.nanoTime());
        assertEquals(51, cache.size(), "nothing valid is dropped");
        Thread.sleep(TTL_MILLIS + 100);
        cache.sweep(System.nanoTime());
        assertEquals(0, cache.size(), "expired names are dropped");
        assertEquals(null, cache.cachedAttrs(d.handle()), "and expired attributes");
        long before = lookups();
        assertEquals(d.handle(), cache.resolve(OpContext.root(), "/many"));
        assertEquals(before + 1, lookups(), "a dropped name is simply looked up again");
    }

    @Test
    void pastItsLimitTheCacheDropsTheNamesDueFirstAndNoLongerTakesTheirDirectoryAsComplete() throws Exception {
        NodeCache big = new NodeCache(fs, root, 60_000, 60_000);
        big.maxNames = 40;
        Entry d = fs.mkdir(OpContext.root(), root.handle(), "lots", 0755);
        big.added("/", "lots", d);
        big.madeEmpty("/lots", d.attributes());
        Entry[] files = new Entry[100];
        for (int i = 0; i < files.length; i++) {
            RemoteFs.Made m = fs.createIn(OpContext.root(), d.handle(), "f" + i, 0644, CreateMode.EXCLUSIVE);
            big.added("/lots", "f" + i, m.entry());
            big.madeIn("/lots", d.handle(), m.dirAfter(), false);
            files[i] = m.entry();
        }
        Thread.sleep(150);
        long before = lookups();
        // Any request past the limit sweeps at once, without waiting for the 2 s tick.
        assertEquals(files[99].handle(), big.resolve(OpContext.root(), "/lots/f99"));
        assertEquals(before, lookups(), "the newest name stayed");
        assertTrue(big.size() <= 40 && big.size() >= 20, "names held: " + big.size());
        assertEquals(null, big.cachedAttrs(files[0].handle()), "the oldest attributes went");
        // The directory was made here and known complete; having lost names it must ask again, not answer ENOENT.
        assertEquals(files[0].handle(), big.resolve(OpContext.root(), "/lots/f0"));
        assertEquals(before + 1, lookups(), "a dropped name is looked up again");
        assertThrows(NoEntException.class, () -> big.resolve(OpContext.root(), "/lots/nothing"));
    }
}
