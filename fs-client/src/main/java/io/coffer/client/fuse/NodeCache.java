package io.coffer.client.fuse;

import io.coffer.client.RemoteFs;
import io.coffer.core.DirListing;
import io.coffer.core.Entry;
import io.coffer.core.FileAttributes;
import io.coffer.core.FileHandle;
import io.coffer.core.OpContext;
import io.coffer.core.status.NoEntException;
import io.coffer.core.status.StaleException;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The daemon's view of the namespace: a tree of directory entries (name → handle) that expire
 * after the entry timeout, and attributes per inode that expire after the attribute timeout,
 * like the NFS client's dentry and attribute caches. libfuse hands us paths; this turns them
 * into handles with as few LOOKUPs as the timeouts allow. Renames move subtrees in place.
 */
final class NodeCache {
    private final RemoteFs fs;
    private final long entryTtlNanos;
    private final long attrTtlNanos;
    private final Dentry root;
    private final ConcurrentHashMap<Long, CachedAttrs> attrs = new ConcurrentHashMap<>();
    /** Up to 65,536 inodes whose kernel pages may be kept on their next open (1 MiB). */
    private final PageCacheChanges cachedChange = new PageCacheChanges(1 << 15);

    static final class Dentry {
        volatile String name;
        volatile Dentry parent;
        volatile FileHandle handle;
        volatile long validUntil;
        /**
         * Until then {@link #children} names everything in this directory, so a name missing from
         * it does not exist: set when this mount made the directory (it starts empty) and kept
         * for the entry timeout, like any cached entry; cleared when the map may have lost a name.
         */
        volatile long completeUntil;
        /**
         * The directory's change attribute as of this mount's last call in it, while every change
         * since the directory was made has been this mount's own (-1: unknown). Each make that
         * moves it by exactly one keeps {@link #completeUntil} going (see {@link #madeIn}).
         */
        long knownChange = -1;
        /** LOOKUPs sent for names in this directory since {@link #missWindow} (see {@link #prefetchDue}). */
        int misses;
        long missWindow;
        /** Whether this directory was listed in the current {@link #missWindow}. */
        boolean listedInWindow;
        /** Where the last listing stopped at the {@link NodeCache#prefetchMax} entries it may fetch (0: it reached the end). */
        long resumeCookie;
        /** Lookups answered from entries of the last listing: whether listing on would pay (not under a lock; a hint). */
        int listingHits;
        /** This entry came from (or was refreshed by) a listing of its directory. */
        volatile boolean fromListing;
        /** Bumped (under the dentry's lock) when this mount removes or renames a name here: a listing in flight may predate it. */
        int localChanges;
        /**
         * The names changed that way while a listing page was on its way, with the value
         * {@link #localChanges} took (under the dentry's lock; null when no page was).
         */
        java.util.Map<String, Integer> changedNames;
        /** Completes when the listing page last asked for here has been added (under the dentry's lock; null: never listed). */
        CompletableFuture<Boolean> listing;
        final ConcurrentHashMap<String, Dentry> children = new ConcurrentHashMap<>();

        Dentry(String name, Dentry parent, FileHandle handle, long validUntil) {
            this.name = name;
            this.parent = parent;
            this.handle = handle;
            this.validUntil = validUntil;
        }
    }

    private record CachedAttrs(FileAttributes attrs, long validUntil) {
    }

    NodeCache(RemoteFs fs, Entry rootEntry, long entryTtlMillis, long attrTtlMillis) {
        this(fs, rootEntry, entryTtlMillis, attrTtlMillis, PREFETCH_MAX);
    }

    NodeCache(RemoteFs fs, Entry rootEntry, long entryTtlMillis, long attrTtlMillis, int prefetchMax) {
        this(fs, rootEntry, entryTtlMillis, attrTtlMillis, prefetchMax, PREFETCH_PAGE, fs::readdirAsync);
    }

    /** How a listing's pages are fetched: {@link RemoteFs#readdirAsync}, or a test's stand-in. */
    interface Lister {
        CompletableFuture<DirListing> list(OpContext ctx, FileHandle dir, long cookie, int maxEntries);
    }

    NodeCache(RemoteFs fs, Entry rootEntry, long entryTtlMillis, long attrTtlMillis, int prefetchMax, int pageSize,
            Lister lister) {
        this.fs = fs;
        this.prefetchMax = prefetchMax;
        this.pageSize = Math.min(pageSize, prefetchMax);
        this.lister = lister;
        this.entryTtlNanos = entryTtlMillis * 1_000_000L;
        this.attrTtlNanos = attrTtlMillis * 1_000_000L;
        this.root = new Dentry("", null, rootEntry.handle(), Long.MAX_VALUE);
        putAttrs(rootEntry.handle(), rootEntry.attributes());
    }

    FileHandle rootHandle() {
        return root.handle;
    }

    static String[] split(String path) {
        if (path.equals("/") || path.isEmpty()) {
            return new String[0];
        }
        return (path.startsWith("/") ? path.substring(1) : path).split("/");
    }

    static String parentOf(String path) {
        int i = path.lastIndexOf('/');
        return i <= 0 ? "/" : path.substring(0, i);
    }

    static String nameOf(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    /** The handle of {@code path}, looking up expired or unknown components. */
    FileHandle resolve(OpContext ctx, String path) throws IOException {
        try {
            return walk(ctx, path).handle;
        } catch (StaleException e) {
            // A directory on the way was removed or replaced by another client: start afresh.
            forgetPath(path);
            dropAllExpired();
            return walk(ctx, path).handle;
        }
    }

    private Dentry walk(OpContext ctx, String path) throws IOException {
        Dentry cur = root;
        long now = System.nanoTime();
        maybeSweep(now);
        for (String name : split(path)) {
            Dentry child = cur.children.get(name);
            if (child != null && child.validUntil - now > 0) {
                if (child.fromListing) {
                    cur.listingHits++;
                }
                cur = child;
                continue;
            }
            if (child == null && cur.completeUntil - now > 0) {
                // tar, cp -r and git look up every name before creating it in the directory they just made.
                throw new NoEntException("no such entry (directory known complete)");
            }
            if (awaitListing(cur, name) || prefetchDue(cur, now) && prefetch(ctx, cur)) {
                child = cur.children.get(name);
                if (child != null && child.validUntil - System.nanoTime() > 0) {
                    cur = child;
                    continue;
                }
            }
            Entry e;
            try {
                e = fs.lookup(ctx, cur.handle, name);
            } catch (NoEntException ne) {
                cur.children.remove(name);
                throw ne;
            }
            putAttrs(e.handle(), e.attributes());
            if (child != null && child.handle.equals(e.handle())) {
                child.validUntil = now + entryTtlNanos;
            } else {
                child = new Dentry(name, cur, e.handle(), now + entryTtlNanos);
                cur.children.put(name, child);
            }
            cur = child;
        }
        return cur;
    }

    /** How often expired entries and attributes are dropped (see {@link #sweep}). */
    private static final long SWEEP_EVERY_NANOS = 2_000_000_000L;
    private final java.util.concurrent.atomic.AtomicLong nextSweep = new java.util.concurrent.atomic.AtomicLong();

    /**
     * Names and attributes held at most; past it the sweep runs at once and also drops unexpired
     * entries, those due to expire first, down to three quarters of it. With a long timeout
     * ({@code actimeo=60}) an {@code ls -lR} of 100,000 files otherwise kept them all, ~500 bytes
     * each, and the daemon's heap (40 MiB, or the 56 it had before) spent most of its time in
     * full collections; the kernel keeps its own entries for the same timeout, so this cache
     * serves mostly the names the kernel asks about again.
     */
    static final int MAX_NAMES = 16_384;
    /** {@link #MAX_NAMES}, lowered by tests. */
    int maxNames = MAX_NAMES;
    /** The least time between two sweeps forced by a full cache, so that one that cannot shrink it is not run per request. */
    private static final long FORCED_SWEEP_GAP_NANOS = 100_000_000L;

    private void maybeSweep(long now) {
        long due = nextSweep.get();
        boolean full = attrs.size() > maxNames && now - (due - SWEEP_EVERY_NANOS) >= FORCED_SWEEP_GAP_NANOS;
        if ((full || now - due >= 0) && nextSweep.compareAndSet(due, now + SWEEP_EVERY_NANOS)) {
            sweep(now);
        }
    }

    /**
     * Drops expired names that have nothing cached under them, and expired attributes. Without
     * this the cache kept every name and attribute the mount had ever seen: after ~40,000 files
     * the daemon's heap was full and it ran a full collection every few hundred files (`tar x`
     * of the bench's tree ~15% slower). An expired entry only ever served as the way to
     * entries under it; losing one to a concurrent update costs a LOOKUP, never a wrong answer.
     */
    void sweep(long now) {
        sweepUnder(root, now, now, false);
        attrs.values().removeIf(c -> c.validUntil - now <= 0);
        int keep = maxNames / 4 * 3;
        if (attrs.size() > maxNames) {
            long[] until = attrs.values().stream().mapToLong(CachedAttrs::validUntil).toArray();
            long cut = earliest(until, until.length - keep, now);
            attrs.values().removeIf(c -> c.validUntil - cut <= 0);
        }
        int names = size();
        if (names > maxNames) {
            java.util.stream.LongStream.Builder until = java.util.stream.LongStream.builder();
            collectLeaves(root, until);
            long[] u = until.build().toArray();
            sweepUnder(root, now, earliest(u, u.length - keep, now), true);
        }
    }

    /** The {@code k}-th earliest of {@code times} (relative to {@code now}), or {@code now} when there is none to drop. */
    private static long earliest(long[] times, int k, long now) {
        if (k <= 0 || times.length == 0) {
            return now;
        }
        for (int i = 0; i < times.length; i++) {
            times[i] -= now;
        }
        java.util.Arrays.sort(times);
        return times[Math.min(k, times.length) - 1] + now;
    }

    private static void collectLeaves(Dentry d, java.util.stream.LongStream.Builder until) {
        for (Dentry c : d.children.values()) {
            if (c.children.isEmpty()) {
                until.add(c.validUntil);
            } else {
                collectLeaves(c, until);
            }
        }
    }

    /**
     * Drops names with nothing under them that expire by {@code cut}; {@code full}: the cache is
     * over {@link #maxNames}, and directories known complete give up names (and completeness) too.
     */
    private void sweepUnder(Dentry d, long now, long cut, boolean full) {
        for (Dentry c : d.children.values()) {
            if (!c.children.isEmpty()) {
                sweepUnder(c, now, cut, full);
            }
        }
        // A directory known complete must keep every name it has (a missing one means "absent"):
        // it is left alone until that lapses, and one that loses a name here is no longer complete.
        synchronized (d) {
            if (!full && d.completeUntil - now > 0) {
                return;
            }
            if (full && d.completeUntil != 0
                    && d.children.values().stream().anyMatch(c -> c.children.isEmpty() && c.validUntil - cut <= 0)) {
                // Before any name goes: a lookup that misses a name must not still find the
                // directory complete and answer ENOENT (lookups read these without the lock).
                d.completeUntil = 0;
                d.knownChange = -1;
            }
            boolean dropped = false;
            for (Dentry c : d.children.values()) {
                if (c.children.isEmpty() && c.validUntil - cut <= 0 && (full || c.completeUntil - now <= 0)) {
                    dropped |= d.children.remove(c.name, c);
                }
            }
            if (dropped) {
                d.completeUntil = 0;
                d.knownChange = -1;
            }
        }
    }

    /** Names cached (valid or not), for tests. */
    int size() {
        int[] n = {0};
        count(root, n);
        return n[0];
    }

    private static void count(Dentry d, int[] n) {
        for (Dentry c : d.children.values()) {
            n[0]++;
            count(c, n);
        }
    }

    /** LOOKUPs in one directory within one entry timeout after which it is listed instead (see {@link #prefetch}). */
    static final int PREFETCH_AFTER = 32;
    /** Entries one listing fetches at most: bounds the daemon's memory and the server's work. */
    static final int PREFETCH_MAX = 8192;
    private static final int PREFETCH_PAGE = 1024;
    private final int prefetchMax;
    private final int pageSize;
    private final Lister lister;

    /**
     * Whether this lookup miss is the one that should list the directory: the
     * {@link #PREFETCH_AFTER}th within one entry timeout. Once per window, so a directory being
     * scanned is listed about once per timeout, however many threads are looking up in it.
     */
    private boolean prefetchDue(Dentry dir, long now) {
        if (entryTtlNanos <= 0) {
            return false;
        }
        synchronized (dir) {
            if (now - dir.missWindow > entryTtlNanos) {
                dir.missWindow = now;
                dir.misses = 0;
                dir.listedInWindow = false;
            }
            ++dir.misses;
            if (!dir.listedInWindow) {
                if (dir.misses < PREFETCH_AFTER) {
                    return false;
                }
                dir.listedInWindow = true;
                return true;
            }
            // A directory larger than one listing, scanned in about the order it lists in (a
            // stat of every file, ls -l, rsync): the last listing's names were used, and the
            // scan has run past them. List on from where it stopped, at once. Lookups in
            // another order find few listed names, and stay one by one.
            if (dir.resumeCookie != 0 && dir.listingHits >= prefetchMax / 2) {
                dir.listingHits = 0;
                return true;
            }
            return false;
        }
    }

    /**
     * Lists a directory in which many names are being looked up one by one (`ls -l`, `stat`
     * of every file, `du`, rsync's and `make`'s scans after the kernel's caches were dropped):
     * a READDIR page returns names, handles and attributes at a few tens of microseconds an
     * entry, where each LOOKUP costs a round trip. The entries are cached like looked-up ones,
     * for the entry timeout counted from before each page was asked for. Waits for the first
     * page only; the next ones follow in the background while the scan uses it. Best effort:
     * without read permission on the directory, or on any error, lookups simply go on one by
     * one. Returns whether the first page was added.
     */
    private boolean prefetch(OpContext ctx, Dentry dir) {
        long cookie;
        synchronized (dir) {
            cookie = dir.resumeCookie;
            dir.resumeCookie = 0;
            dir.listingHits = 0;
        }
        try {
            return listFrom(ctx, dir, cookie, 0).join();
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * Asks for the page after {@code cookie} and, once it is added, for the next one, until the
     * listing has {@link #prefetchMax} entries (it then records where to go on from) or reaches
     * the end. The future completes, with whether the page was added, when this page is done.
     */
    private CompletableFuture<Boolean> listFrom(OpContext ctx, Dentry dir, long cookie, int fetched) {
        CompletableFuture<Boolean> added = new CompletableFuture<>();
        long until = System.nanoTime() + entryTtlNanos;
        int changes;
        synchronized (dir) {
            changes = dir.localChanges;
            dir.listing = added;
        }
        CompletableFuture<DirListing> page;
        try {
            page = lister.list(ctx, dir.handle, cookie, Math.min(pageSize, prefetchMax - fetched));
        } catch (RuntimeException e) {
            page = CompletableFuture.failedFuture(e);
        }
        page.whenComplete((l, error) -> {
            boolean ok = false;
            try {
                if (error == null) {
                    long last = add(dir, l, until, changes);
                    ok = true;
                    int got = fetched + l.entries().size();
                    if (!l.eof() && !l.entries().isEmpty()) {
                        if (got < prefetchMax) {
                            listFrom(ctx, dir, last, got);
                        } else {
                            synchronized (dir) {
                                dir.resumeCookie = last;
                            }
                        }
                    }
                }
            } catch (RuntimeException e) {
                // Lookups one by one still work.
            } finally {
                added.complete(ok);
            }
        });
        return added;
    }

    /**
     * Caches a listing page's entries but those this mount removed or renamed since the page was
     * asked for ({@code changes}), which it may still show; returns the last entry's cookie.
     */
    private long add(Dentry dir, DirListing l, long until, int changes) {
        long cookie = 0;
        synchronized (dir) {
            for (io.coffer.core.DirEntry e : l.entries()) {
                cookie = e.cookie();
                if (dir.changedNames != null && dir.changedNames.getOrDefault(e.name(), changes) > changes) {
                    continue;
                }
                putAttrs(e.handle(), e.attributes());
                Dentry existing = dir.children.get(e.name());
                if (existing != null && existing.handle.equals(e.handle())) {
                    if (until - existing.validUntil > 0) {
                        existing.validUntil = until;
                    }
                    existing.fromListing = true;
                } else {
                    Dentry listed = new Dentry(e.name(), dir, e.handle(), until);
                    listed.fromListing = true;
                    dir.children.put(e.name(), listed);
                }
            }
        }
        return cookie;
    }

    /** Notes, under {@code dir}'s lock, that this mount removed or renamed {@code name} there. */
    private static void changedHere(Dentry dir, String name) {
        dir.localChanges++;
        if (dir.listing != null && !dir.listing.isDone()) {
            if (dir.changedNames == null) {
                dir.changedNames = new java.util.HashMap<>();
            }
            dir.changedNames.put(name, dir.localChanges);
        } else {
            dir.changedNames = null;
        }
    }

    /**
     * Waits, while {@code name} is not cached, for the pages of this directory's listing that
     * are on their way (two at most): a scan that runs ahead of the listing finds its next name
     * there. Returns whether it waited.
     */
    private static boolean awaitListing(Dentry dir, String name) {
        boolean waited = false;
        for (int i = 0; i < 2 && !dir.children.containsKey(name); i++) {
            CompletableFuture<Boolean> page;
            synchronized (dir) {
                page = dir.listing;
            }
            if (page == null || page.isDone()) {
                break;
            }
            page.join();
            waited = true;
        }
        return waited;
    }

    /** Records a new or refreshed name (after CREATE, MKDIR, LINK, READDIR). */
    void added(String parentPath, String name, Entry e) {
        putAttrs(e.handle(), e.attributes());
        Dentry parent = find(parentPath);
        if (parent == null) {
            return;
        }
        Dentry existing = parent.children.get(name);
        long until = System.nanoTime() + entryTtlNanos;
        if (existing != null && existing.handle.equals(e.handle())) {
            existing.validUntil = until;
        } else {
            parent.children.put(name, new Dentry(name, parent, e.handle(), until));
        }
    }

    /** A directory this mount has just made: it is empty, and a lookup in it needs no round trip for a while. */
    void madeEmpty(String path, FileAttributes made) {
        Dentry d = find(path);
        if (d != null) {
            synchronized (d) {
                d.completeUntil = System.nanoTime() + entryTtlNanos;
                d.knownChange = made.change();
            }
        }
    }

    /**
     * After this mount made a name in {@code dirPath}: caches the directory's attributes the server
     * returned ({@code after}; null from a server that did not say) and, if the directory is known
     * complete and its change attribute moved by exactly one (this call alone changed it, as
     * NFS clients judge their directory caches), keeps it known complete for another entry
     * timeout. A gap means someone else changed it: the shortcut is left to lapse. Without this
     * a directory's shortcut ended one timeout after it was made, however many files this mount
     * went on creating in it (the files workload fell from ~4,300 to ~2,400 creates/s after 1 s).
     */
    void madeIn(String dirPath, FileHandle dir, FileAttributes after, boolean madeDirectory) {
        Dentry d = find(dirPath);
        if (after == null) {
            if (madeDirectory) {
                invalidateAttrs(dir);
            } else {
                entriesChanged(dir);
            }
            if (d != null) {
                synchronized (d) {
                    d.knownChange = -1;
                }
            }
            return;
        }
        putAttrs(dir, after);
        if (d == null) {
            return;
        }
        synchronized (d) {
            long now = System.nanoTime();
            if (d.knownChange >= 0 && after.change() == d.knownChange + 1 && d.completeUntil - now > 0) {
                d.completeUntil = now + entryTtlNanos;
                d.knownChange = after.change();
            } else {
                d.knownChange = -1;
            }
        }
    }

    /** Something may be in this directory that the cache does not name (another client made it). */
    void maybeIncomplete(String dirPath) {
        Dentry d = find(dirPath);
        if (d != null) {
            d.completeUntil = 0;
        }
    }

    void addedUnder(FileHandle dir, String dirPath, String name, Entry e) {
        added(dirPath, name, e);
    }

    /** The cached dentry of a path if every component is known (valid or not). */
    private Dentry find(String path) {
        Dentry cur = root;
        for (String name : split(path)) {
            cur = cur.children.get(name);
            if (cur == null) {
                return null;
            }
        }
        return cur;
    }

    /** The handle of a path whose every component is a cached, unexpired entry; null otherwise. */
    FileHandle cachedHandle(String path) {
        Dentry d = find(path);
        return d != null && d != root && d.validUntil - System.nanoTime() > 0 ? d.handle : null;
    }

    /**
     * The handle a path was last known by, expired or not (null if not cached): which file a
     * removed name was, to drop that file's attributes, where a guess costs nothing.
     */
    FileHandle knownHandle(String path) {
        Dentry d = find(path);
        return d != null && d != root ? d.handle : null;
    }

    void removed(String path) {
        Dentry parent = find(parentOf(path));
        if (parent != null) {
            synchronized (parent) {
                changedHere(parent, nameOf(path));
                parent.children.remove(nameOf(path));
            }
        }
    }

    void renamed(String from, String to) {
        Dentry fromParent = find(parentOf(from));
        Dentry toParent = find(parentOf(to));
        Dentry moving = null;
        if (fromParent != null) {
            synchronized (fromParent) {
                changedHere(fromParent, nameOf(from));
                moving = fromParent.children.remove(nameOf(from));
            }
        }
        if (toParent == null) {
            return;
        }
        synchronized (toParent) {
            // The name replaced there may be in a listing in flight.
            changedHere(toParent, nameOf(to));
        }
        if (moving == null) {
            toParent.children.remove(nameOf(to));
            toParent.completeUntil = 0; // the name exists now, but the cache has no handle for it
            return;
        }
        moving.name = nameOf(to);
        moving.parent = toParent;
        toParent.children.put(moving.name, moving);
    }

    /** Forgets a path and everything under it (after ESTALE). */
    void forgetPath(String path) {
        removed(path);
    }

    private void dropAllExpired() {
        long now = System.nanoTime();
        dropExpired(root, now);
    }

    private void dropExpired(Dentry d, long now) {
        if (d.children.values().removeIf(c -> c.validUntil - now <= 0)) {
            d.completeUntil = 0;
        }
        for (Dentry c : d.children.values()) {
            dropExpired(c, now);
        }
    }

    void putAttrs(FileHandle h, FileAttributes a) {
        attrs.put(h.inode(), new CachedAttrs(a, System.nanoTime() + attrTtlNanos));
    }

    /** Cached attributes of a handle if still valid, else null. */
    FileAttributes cachedAttrs(FileHandle h) {
        CachedAttrs c = attrs.get(h.inode());
        if (c == null || c.validUntil - System.nanoTime() <= 0) {
            return null;
        }
        return c.attrs;
    }

    FileAttributes attrs(OpContext ctx, FileHandle h, boolean fresh) throws IOException {
        if (!fresh) {
            FileAttributes a = cachedAttrs(h);
            if (a != null) {
                return a;
            }
        }
        FileAttributes a = fs.getattr(ctx, h);
        putAttrs(h, a);
        return a;
    }

    /**
     * A name was added to or removed from directory {@code dir} by this client (not a
     * subdirectory: its link count is unchanged). The kernel drops the directory's attributes
     * after every such change and asks again, and with permission checks on it asks before the
     * next lookup in it: answering from here, with the times moved to now, saves a round trip
     * per file created or removed. The server's own values replace these when they expire.
     */
    void entriesChanged(FileHandle dir) {
        CachedAttrs c = attrs.get(dir.inode());
        if (c == null) {
            return;
        }
        FileAttributes a = c.attrs;
        long now = System.currentTimeMillis() * 1_000_000L;
        long mtime = Math.max(now, a.mtimeNanos());
        attrs.replace(dir.inode(), c, new CachedAttrs(new FileAttributes(a.type(), a.mode(), a.nlink(), a.uid(), a.gid(),
                a.size(), a.usedBytes(), a.rdev(), a.inode(), a.atimeNanos(), mtime, Math.max(mtime, a.ctimeNanos()),
                a.change()), c.validUntil));
    }

    void invalidateAttrs(FileHandle h) {
        attrs.remove(h.inode());
    }

    /** The change attribute for which the kernel's page cache of this inode is known good. */
    Long pageCacheChange(long inode) {
        return cachedChange.get(inode);
    }

    void setPageCacheChange(long inode, long change) {
        cachedChange.put(inode, change);
    }
}
