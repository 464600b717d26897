package io.coffer.client.fuse;

import io.coffer.client.RemoteFs;
import io.coffer.core.CreateMode;
import io.coffer.core.Credentials;
import io.coffer.core.DirEntry;
import io.coffer.core.DirListing;
import io.coffer.core.Entry;
import io.coffer.core.FileAttributes;
import io.coffer.core.FileHandle;
import io.coffer.core.FileType;
import io.coffer.core.FsException;
import io.coffer.core.FsStats;
import io.coffer.core.LockRange;
import io.coffer.core.LockType;
import io.coffer.core.OpContext;
import io.coffer.core.ReadResult;
import io.coffer.core.SetAttributes;
import io.coffer.core.Status;
import io.coffer.core.Vfs;
import io.coffer.core.XattrSetMode;
import io.coffer.core.status.AgainException;
import io.coffer.core.status.FileTooBigException;
import io.coffer.core.status.InvalException;
import io.coffer.core.status.IoException;
import io.coffer.core.status.IsDirException;
import io.coffer.core.status.NoEntException;
import io.coffer.core.status.RangeException;
import io.coffer.core.status.RoFsException;
import io.coffer.core.status.StaleException;
import io.netty.buffer.ByteBuf;
import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.Struct;
import jnr.ffi.types.dev_t;
import jnr.ffi.types.gid_t;
import jnr.ffi.types.mode_t;
import jnr.ffi.types.off_t;
import jnr.ffi.types.size_t;
import jnr.ffi.types.uid_t;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import ru.serce.jnrfuse.FuseFillDir;
import ru.serce.jnrfuse.FuseStubFS;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.Flock;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.Statvfs;
import ru.serce.jnrfuse.struct.Timespec;

/**
 * The kernel's side of a mount: libfuse's path-based callbacks turned into protocol calls.
 *
 * <p>No callback lets an exception escape (jnr-fuse binds them unguarded; an escaped exception
 * hangs the mount): typed errors become their errno, anything else is logged and answered EIO.
 * Operations not overridden here stay unbound, so the kernel gets ENOSYS, never a fake success.
 */
public final class CofferFuse extends FuseStubFS {
    private static final Logger log = LoggerFactory.getLogger(CofferFuse.class);
    private static final long UTIME_NOW = (1L << 30) - 1;
    private static final long UTIME_OMIT = (1L << 30) - 2;
    private static final int O_ACCMODE = 3;
    private static final int O_EXCL = 0200;
    private static final int F_GETLK = 5;
    private static final int F_SETLK = 6;
    private static final int F_SETLKW = 7;
    private static final int F_RDLCK = 0;
    private static final int F_WRLCK = 1;
    private static final int F_UNLCK = 2;
    private static final int LOCK_SH = 1;
    private static final int LOCK_EX = 2;
    private static final int LOCK_NB = 4;
    private static final int LOCK_UN = 8;
    /** Offset of the bit-fields (direct_io, keep_cache, ...) in libfuse 2's struct fuse_file_info on LP64. */
    private static final int FI_BITS_OFFSET = 20;
    private static final int FI_KEEP_CACHE = 1 << 1;
    private static final int FI_FLOCK_RELEASE = 1 << 4;

    private final RemoteFs fs;
    private final NodeCache cache;
    private final boolean readOnly;
    private final boolean deferAttributes;
    private final WriteBudget budget;
    private final Map<Long, OpenFile> openFiles = new ConcurrentHashMap<>();
    private final Map<Long, FileState> states = new ConcurrentHashMap<>();
    private final Map<Long, OpenDir> openDirs = new ConcurrentHashMap<>();
    private final RecentListings recentListings;
    private final boolean removeBehind;
    /** The first error of a remove answered early, per directory inode, for that directory's next fsync. */
    private final Map<Long, FsException> removeErrors = new ConcurrentHashMap<>();
    private final Map<Long, ReadAhead> readAheads = new ConcurrentHashMap<>();
    private final LinkedNodes linkedNodes = new LinkedNodes();
    /** Read-ahead windows a mount may hold at once (each {@link ReadAhead#WINDOW} bytes). */
    private final java.util.concurrent.Semaphore readAheadBudget = new java.util.concurrent.Semaphore(16);
    private final AtomicLong nextFh = new AtomicLong(1);
    private final Map<Integer, int[]> groupCache = new ConcurrentHashMap<>();
    private final Map<Integer, Long> groupCacheTime = new ConcurrentHashMap<>();
    private final Runtime runtime = Runtime.getSystemRuntime();

    private record OpenFile(FileHandle handle, FileState state, int flags) {
    }

    /**
     * @param deferAttributes hold attribute changes to files open for writing until their data is
     *     sent (see {@link FileState}); off when the server squashes root, whose changes the
     *     kernel allows but the server may refuse
     * @param removeBehind answer an unlink whose outcome the daemon can predict before the server
     *     has (see {@link #unlinkBehind}); off with root squashing, for the same reason, and on
     *     mounts with {@code sync} or {@code dirsync}, whose directory changes are synchronous
     */
    public record Settings(long entryTimeoutMillis, long attrTimeoutMillis, int writeBudgetBytes, boolean readOnly,
            boolean deferAttributes, boolean removeBehind) {
        public static Settings defaults() {
            return new Settings(1000, 1000, 32 << 20, false, true, true);
        }
    }

    public CofferFuse(RemoteFs fs, Entry root, Settings settings) {
        this.fs = fs;
        this.cache = new NodeCache(fs, root, settings.entryTimeoutMillis(), settings.attrTimeoutMillis());
        this.recentListings = new RecentListings(settings.entryTimeoutMillis() * 1_000_000L);
        this.readOnly = settings.readOnly();
        this.deferAttributes = settings.deferAttributes();
        this.removeBehind = settings.removeBehind() && !settings.readOnly();
        this.budget = new WriteBudget(settings.writeBudgetBytes(), this::relieveMemory);
        this.absentXattrs = new AbsentXattrs(settings.attrTimeoutMillis() * 1_000_000L, System.nanoTime());
        // libfuse 2 calls utimens with UTIME_OMIT only when the file system says it copes
        // (flag_utime_omit_ok, bit 2 of the flags word); otherwise it drops "set mtime only"
        // (touch -m, tar) on the floor. jnr-fuse models that word as padding, so set the bit here.
        // The word follows the 38 function pointers from getattr to bmap in struct fuse_operations.
        Pointer ops = Struct.getMemory(fuseOperations);
        long flagsOffset = 38L * runtime.addressSize();
        ops.putInt(flagsOffset, ops.getInt(flagsOffset) | (1 << 2));
    }

    /** How long written bytes may wait in this process before they are sent (see {@link FileState#sendIfOlderThan}). */
    static final long WRITE_BACK_NANOS = 5_000_000_000L;

    /**
     * Sends written bytes that have waited {@link #WRITE_BACK_NANOS} and gives back write buffers
     * held for reuse once writes have stopped; meant to run every few seconds (the first call
     * after the last write only notes that none was taken since).
     */
    public void trimBuffers() {
        long cutoff = System.nanoTime() - WRITE_BACK_NANOS;
        for (FileState s : states.values()) {
            s.sendIfOlderThan(cutoff);
        }
        FileState.trimBuffers();
    }

    private void relieveMemory() {
        for (FileState s : states.values()) {
            s.sendPendingNow();
            s.commitInBackground();
        }
    }

    // ------------------------------------------------------------------ plumbing

    @FunctionalInterface
    private interface FuseOp {
        int run() throws IOException;
    }

    /** Runs a callback body, turning every failure into a negative errno. */
    private int guard(String what, String path, FuseOp op) {
        try {
            return op.run();
        } catch (IOException | RuntimeException | Error e) {
            return -errno(what, path, e);
        }
    }

    /** The errno (positive) an operation's failure becomes, logged as its kind deserves. */
    private static int errno(String what, Object where, Throwable e) {
        if (e instanceof FsException fe) {
            if (fe.status() == Status.EIO) {
                log.warn("{} {}: {}", what, where, fe.getMessage());
            } else {
                log.debug("{} {}: {} {}", what, where, fe.status(), fe.getMessage());
            }
            return fe.status().errno();
        }
        if (e instanceof IOException) {
            log.warn("{} {} failed: {}", what, where, e.toString());
        } else {
            log.error("{} {} failed unexpectedly", what, where, e);
        }
        return Status.EIO.errno();
    }

    /** Retries once after ESTALE: the cached path pointed at something another client replaced. */
    private int guardStale(String what, String path, FuseOp op) {
        return guard(what, path, () -> {
            try {
                return op.run();
            } catch (StaleException e) {
                cache.forgetPath(path);
                return op.run();
            }
        });
    }

    private OpContext ctx() {
        var c = getContext();
        return OpContext.of(credentials((int) c.uid.get(), (int) c.gid.get(), (int) c.pid.get()));
    }

    private Credentials credentials(int uid, int gid, int pid) {
        return new Credentials(uid, gid, uid == 0 ? new int[0] : groups(pid));
    }

    /** Supplementary groups of the calling process, from /proc (libfuse 2's context lacks them). */
    private int[] groups(int pid) {
        long now = System.nanoTime();
        Long t = groupCacheTime.get(pid);
        if (t != null && now - t < 2_000_000_000L) {
            return groupCache.get(pid);
        }
        int[] g = new int[0];
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status"))) {
                if (line.startsWith("Groups:")) {
                    String rest = line.substring(7).trim();
                    if (!rest.isEmpty()) {
                        String[] parts = rest.split("\\s+");
                        g = new int[parts.length];
                        for (int i = 0; i < parts.length; i++) {
                            g[i] = Integer.parseInt(parts[i]);
                        }
                    }
                    break;
                }
            }
        } catch (IOException | NumberFormatException e) {
            log.debug("cannot read groups of pid {}: {}", pid, e.toString());
        }
        if (groupCache.size() > 4096) {
            groupCache.clear();
            groupCacheTime.clear();
        }
        groupCache.put(pid, g);
        groupCacheTime.put(pid, now);
        return g;
    }

    private void checkWritable() throws RoFsException {
        if (readOnly) {
            throw new RoFsException("read-only mount");
        }
    }

    private void fillStat(FileStat st, FileAttributes a) {
        st.st_mode.set(a.fullMode());
        st.st_ino.set(a.inode());
        st.st_nlink.set(a.nlink());
        st.st_uid.set(a.uid() & 0xFFFFFFFFL);
        st.st_gid.set(a.gid() & 0xFFFFFFFFL);
        st.st_size.set(a.size());
        st.st_rdev.set(a.rdev());
        st.st_blksize.set(128 * 1024);
        st.st_blocks.set((a.usedBytes() + 511) / 512);
        st.st_atim.tv_sec.set(Math.floorDiv(a.atimeNanos(), 1_000_000_000L));
        st.st_atim.tv_nsec.set(Math.floorMod(a.atimeNanos(), 1_000_000_000L));
        st.st_mtim.tv_sec.set(Math.floorDiv(a.mtimeNanos(), 1_000_000_000L));
        st.st_mtim.tv_nsec.set(Math.floorMod(a.mtimeNanos(), 1_000_000_000L));
        st.st_ctim.tv_sec.set(Math.floorDiv(a.ctimeNanos(), 1_000_000_000L));
        st.st_ctim.tv_nsec.set(Math.floorMod(a.ctimeNanos(), 1_000_000_000L));
    }

    private FileAttributes withLocalWrites(FileAttributes a) {
        FileState s = states.get(a.inode());
        return s == null ? a : s.overlay(a);
    }

    private FileState state(FileHandle h) {
        return states.computeIfAbsent(h.inode(), k -> new FileState(h, fs, budget));
    }

    // ------------------------------------------------------------------ attributes

    @Override
    public int getattr(String path, FileStat stat) {
        return guardStale("getattr", path, () -> {
            OpContext c = ctx();
            FileHandle h = cache.resolve(c, path);
            fillStat(stat, withLocalWrites(cache.attrs(c, h, false)));
            return 0;
        });
    }

    @Override
    public int fgetattr(String path, FileStat stat, FuseFileInfo fi) {
        OpenFile of = openFiles.get(fi.fh.get());
        if (of == null) {
            return getattr(path, stat);
        }
        return guard("fgetattr", path, () -> {
            fillStat(stat, withLocalWrites(cache.attrs(ctx(), of.handle(), false)));
            return 0;
        });
    }

    private int setattr(String what, String path, FuseFileInfo fi, SetAttributes change) {
        return guardStale(what, path, () -> {
            checkWritable();
            OpContext c = ctx();
            OpenFile of = fi == null ? null : openFiles.get(fi.fh.get());
            FileHandle h = of != null ? of.handle() : cache.resolve(c, path);
            ReadAhead ra = readAheads.get(h.inode());
            if (ra != null) {
                ra.dropAll();
            }
            FileState s = states.get(h.inode());
            if (deferAttributes && s != null && change.size() == null && s.writers > 0) {
                FileAttributes seen = withLocalWrites(cache.attrs(c, h, false));
                if (seen.type() == FileType.REGULAR && s.defer(c.credentials(), change, seen)) {
                    return 0;
                }
            }
            if (s != null && s.dirty()) {
                // Writes and held changes still on their way must land first: a later WRITE would set
                // the mtime to "now" over an explicit time, or undo a truncate (NFS clients flush here too).
                if (change.size() != null) {
                    s.flush();
                } else {
                    s.drain();
                }
            }
            FileAttributes a = fs.setattr(c, h, change);
            if (change.size() != null && s != null) {
                s.truncated();
            }
            cache.putAttrs(h, a);
            return 0;
        });
    }

    @Override
    public int chmod(String path, @mode_t long mode) {
        return setattr("chmod", path, null, SetAttributes.mode((int) (mode & 07777)));
    }

    @Override
    public int chown(String path, @uid_t long uid, @gid_t long gid) {
        Integer u = (uid == -1 || uid == 0xFFFFFFFFL) ? null : (int) uid;
        Integer g = (gid == -1 || gid == 0xFFFFFFFFL) ? null : (int) gid;
        return setattr("chown", path, null, SetAttributes.owner(u, g));
    }

    @Override
    public int truncate(String path, @off_t long size) {
        return setattr("truncate", path, null, SetAttributes.size(size));
    }

    @Override
    public int ftruncate(String path, @off_t long size, FuseFileInfo fi) {
        return setattr("ftruncate", path, fi, SetAttributes.size(size));
    }

    @Override
    public int utimens(String path, Timespec[] timespec) {
        // jnr-fuse builds the second Timespec at a wrong offset (it reads the first one again), so
        // read struct timespec[2] from the raw memory: {tv_sec, tv_nsec} twice, 8 bytes each on LP64.
        Pointer raw = Struct.getMemory(timespec[0]);
        long asec = raw.getLong(0);
        long an = raw.getLong(8);
        long msec = raw.getLong(16);
        long mn = raw.getLong(24);
        Long atime = null;
        Long mtime = null;
        boolean atimeNow = false;
        boolean mtimeNow = false;
        if (an == UTIME_NOW) {
            atimeNow = true;
        } else if (an != UTIME_OMIT) {
            atime = toNanos(asec, an);
        }
        if (mn == UTIME_NOW) {
            mtimeNow = true;
        } else if (mn != UTIME_OMIT) {
            mtime = toNanos(msec, mn);
        }
        if (atime == null && mtime == null && !atimeNow && !mtimeNow) {
            return 0;
        }
        return setattr("utimens", path, null, SetAttributes.times(atime, atimeNow, mtime, mtimeNow));
    }

    /**
     * A timespec as nanoseconds since the epoch, held to what that count can reach (the years
     * 1677 to 2262), as local file systems hold a time to their own range: multiplied out, a time
     * past 2262 wrapped around and was stored as one before 1970.
     */
    static long toNanos(long sec, long nsec) {
        try {
            return Math.addExact(Math.multiplyExact(sec, 1_000_000_000L), nsec);
        } catch (ArithmeticException e) {
            return sec < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
    }

    // ------------------------------------------------------------------ namespace

    /**
     * @param fresh whether a success means a new inode (not LINK's new name for an old one): it has
     *     no capabilities, so the kernel's query before a chown or the first write is answered here
     */
    private int make(String what, String path, boolean fresh, MakeOp op) {
        return guardStale(what, path, () -> {
            checkWritable();
            OpContext c = ctx();
            String parent = NodeCache.parentOf(path);
            FileHandle dir = cache.resolve(c, parent);
            RemoteFs.Made m = makeIn(parent, () -> op.make(c, dir, NodeCache.nameOf(path)));
            Entry e = m.entry();
            if (fresh) {
                absentXattrs.note(e.handle().inode(), SECURITY_CAPABILITY, System.nanoTime());
            }
            cache.added(parent, NodeCache.nameOf(path), e);
            cache.madeIn(parent, dir, m.dirAfter(), e.attributes().isDirectory());
            if (e.attributes().isDirectory()) {
                cache.madeEmpty(path, e.attributes());
            }
            return 0;
        });
    }

    @FunctionalInterface
    private interface Making {
        RemoteFs.Made run() throws IOException;
    }

    /** Makes a name in {@code parentPath}; an EEXIST means the cache did not know the directory in full. */
    private RemoteFs.Made makeIn(String parentPath, Making making) throws IOException {
        recentListings.changed();
        try {
            return making.run();
        } catch (io.coffer.core.status.ExistException x) {
            cache.maybeIncomplete(parentPath);
            throw x;
        } finally {
            recentListings.changed();
        }
    }

    @FunctionalInterface
    private interface MakeOp {
        RemoteFs.Made make(OpContext c, FileHandle dir, String name) throws IOException;
    }

    @Override
    public int mknod(String path, @mode_t long mode, @dev_t long rdev) {
        FileType type = FileType.ofMode(mode);
        if (type == null) {
            type = FileType.REGULAR;
        }
        FileType t = type;
        return make("mknod", path, true, (c, dir, name) -> t == FileType.REGULAR
                ? fs.createIn(c, dir, name, (int) (mode & 07777), CreateMode.EXCLUSIVE)
                : new RemoteFs.Made(fs.mknod(c, dir, name, t, (int) (mode & 07777), rdev), null));
    }

    @Override
    public int mkdir(String path, @mode_t long mode) {
        return make("mkdir", path, true, (c, dir, name) -> fs.mkdirIn(c, dir, name, (int) (mode & 07777)));
    }

    @Override
    public int symlink(String target, String linkPath) {
        return make("symlink", linkPath, true, (c, dir, name) -> fs.symlinkIn(c, dir, name, target));
    }

    @Override
    public int link(String existing, String newPath) {
        return make("link", newPath, false, (c, dir, name) -> {
            FileHandle target = cache.resolve(c, existing);
            Entry e = fs.link(c, target, dir, name);
            cache.putAttrs(e.handle(), e.attributes());
            linkedNodes.changed(target.inode());
            return new RemoteFs.Made(e, null);
        });
    }

    @Override
    public int unlink(String path) {
        return guardStale("unlink", path, () -> {
            checkWritable();
            OpContext c = ctx();
            FileHandle dir = cache.resolve(c, NodeCache.parentOf(path));
            if (removeBehind && unlinkBehind(c, path, dir)) {
                return 0;
            }
            FileHandle gone = cache.knownHandle(path);
            recentListings.changed();
            try {
                fs.remove(c, dir, NodeCache.nameOf(path));
            } finally {
                recentListings.changed();
            }
            cache.removed(path);
            cache.entriesChanged(dir);
            lessLinked(gone);
            return 0;
        });
    }

    /**
     * Answers an unlink before the server does, when the daemon can predict the server's answer:
     * the name is a cached, unexpired entry for a file that is not a directory and not open or
     * unsaved here, and the directory's cached attributes let the caller remove it (write and
     * search permission, the sticky-bit rule), exactly the checks the server makes. The REMOVE
     * then goes out without waiting ({@link RemoteFs#removeBehind}), so an {@code rm -rf} or a
     * loop of unlinks keeps up to that many in flight instead of waiting one round trip each.
     * Any later call that could observe the name waits for it first. What remains unpredictable
     * is another client's change in between, or the server failing: such an error is logged,
     * the name shows again (the directory's cached state is dropped), and the directory's next
     * fsync returns it, as write-behind's errors surface at the next fsync or close.
     */
    private boolean unlinkBehind(OpContext c, String path, FileHandle dir) throws IOException {
        FileHandle child = cache.cachedHandle(path);
        if (child == null || states.containsKey(child.inode())) {
            return false;
        }
        FileAttributes ca = cache.cachedAttrs(child);
        FileAttributes da = cache.cachedAttrs(dir);
        if (ca == null || da == null || ca.isDirectory() || !da.isDirectory()
                || !mayRemoveFrom(da, ca, c.credentials())) {
            return false;
        }
        String dirPath = NodeCache.parentOf(path);
        recentListings.changed();
        fs.removeBehind(c.credentials(), dir, NodeCache.nameOf(path), child.inode(), failure -> {
            if (failure == null || failure instanceof NoEntException || failure instanceof StaleException) {
                // Gone either way: what the caller asked for (another client removed it first).
                return;
            }
            log.warn("unlink {} was refused by the server after it was answered: {}", path, failure.toString());
            cache.maybeIncomplete(dirPath);
            cache.invalidateAttrs(dir);
            cache.invalidateAttrs(child);
            recentListings.changed();
            removeErrors.putIfAbsent(dir.inode(), failure instanceof FsException fe ? fe
                    : new IoException("unlink " + path + ": " + failure));
        });
        cache.removed(path);
        if (ca.nlink() > 1) {
            // Its other names show at once what the server will answer (one link fewer, ctime now),
            // from here and, once the kernel drops what it holds for them, from the kernel.
            cache.putAttrs(child, new FileAttributes(ca.type(), ca.mode(), ca.nlink() - 1, ca.uid(), ca.gid(),
                    ca.size(), ca.usedBytes(), ca.rdev(), ca.inode(), ca.atimeNanos(), ca.mtimeNanos(),
                    Math.max(ca.ctimeNanos(), System.currentTimeMillis() * 1_000_000L), ca.change()));
            linkedNodes.changed(child.inode());
        } else {
            // Gone, unless another client linked it meanwhile: then it must show the server's count.
            cache.invalidateAttrs(child);
        }
        cache.entriesChanged(dir);
        return true;
    }

    /**
     * A name of {@code gone} (null if this daemon no longer knew which file the name was) was
     * removed: its other names, if any, must not show the old link count and ctime, neither from
     * this cache nor from the kernel's (see {@link LinkedNodes}).
     */
    private void lessLinked(FileHandle gone) {
        if (gone != null) {
            cache.invalidateAttrs(gone);
            linkedNodes.changed(gone.inode());
        }
    }

    /** The server's rule for removing {@code child} from {@code dir} (fs-server's Access), on cached attributes. */
    static boolean mayRemoveFrom(FileAttributes dir, FileAttributes child, Credentials who) {
        if (who.isRoot()) {
            return true;
        }
        int bits;
        if (who.uid() == dir.uid()) {
            bits = (dir.mode() >> 6) & 7;
        } else if (who.inGroup(dir.gid())) {
            bits = (dir.mode() >> 3) & 7;
        } else {
            bits = dir.mode() & 7;
        }
        if ((bits & 3) != 3) {
            return false;
        }
        return (dir.mode() & 01000) == 0 || who.uid() == dir.uid() || who.uid() == child.uid();
    }

    @Override
    public int rmdir(String path) {
        return guardStale("rmdir", path, () -> {
            checkWritable();
            OpContext c = ctx();
            FileHandle dir = cache.resolve(c, NodeCache.parentOf(path));
            recentListings.changed();
            try {
                fs.rmdir(c, dir, NodeCache.nameOf(path));
            } finally {
                recentListings.changed();
            }
            cache.removed(path);
            cache.invalidateAttrs(dir);
            return 0;
        });
    }

    @Override
    public int rename(String from, String to) {
        return guardStale("rename", from, () -> {
            checkWritable();
            OpContext c = ctx();
            FileHandle fromDir = cache.resolve(c, NodeCache.parentOf(from));
            FileHandle toDir = cache.resolve(c, NodeCache.parentOf(to));
            FileHandle replaced = cache.knownHandle(to);
            FileHandle moved = cache.knownHandle(from);
            recentListings.changed();
            try {
                fs.rename(c, fromDir, NodeCache.nameOf(from), toDir, NodeCache.nameOf(to));
            } finally {
                recentListings.changed();
            }
            cache.renamed(from, to);
            cache.invalidateAttrs(fromDir);
            cache.invalidateAttrs(toDir);
            if (moved != null) {
                // The server moved its ctime, as Linux's file systems do.
                cache.invalidateAttrs(moved);
            }
            if (replaced != null && (moved == null || moved.inode() != replaced.inode())) {
                lessLinked(replaced);
            }
            return 0;
        });
    }

    @Override
    public int readlink(String path, Pointer buf, @size_t long size) {
        return guardStale("readlink", path, () -> {
            OpContext c = ctx();
            String target = fs.readlink(c, cache.resolve(c, path));
            byte[] b = target.getBytes(StandardCharsets.UTF_8);
            int n = (int) Math.min(b.length, size - 1);
            buf.put(0, b, 0, n);
            buf.putByte(n, (byte) 0);
            return 0;
        });
    }

    // ------------------------------------------------------------------ files

    private void setKeepCache(FuseFileInfo fi) {
        Pointer p = Struct.getMemory(fi);
        int bits = p.getInt(FI_BITS_OFFSET);
        p.putInt(FI_BITS_OFFSET, bits | FI_KEEP_CACHE);
    }

    private int registerOpen(FileHandle h, FileAttributes fresh, FuseFileInfo fi, boolean created) {
        FileState s = state(h);
        synchronized (s) {
            s.opens++;
            if ((fi.flags.get() & O_ACCMODE) != 0) {
                s.writers++;
            }
        }
        long id = nextFh.getAndIncrement();
        ReadAhead stale = readAheads.get(h.inode());
        if (stale != null) {
            stale.dropAll();
        }
        openFiles.put(id, new OpenFile(h, s, fi.flags.get()));
        fi.fh.set(id);
        // Close-to-open: keep the kernel's pages only if the file is unchanged since they were cached.
        Long known = cache.pageCacheChange(h.inode());
        if (created || (known != null && known == fresh.change())) {
            setKeepCache(fi);
        }
        cache.setPageCacheChange(h.inode(), fresh.change());
        return 0;
    }

    /**
     * Files open through the mount at once. Each costs the daemon's 40 MiB heap ~1.3 KiB (its
     * handle, write-behind state and cached entry): 19,000 held open, with a line written to each,
     * ran it out of heap and wedged the mount. Past this an open gets ENFILE ("Too many open files
     * in system"), an error programs know, instead.
     */
    static final int MAX_OPEN_FILES = 8_192;
    private static final int ENFILE = 23;
    private final AtomicLong lastTooManyLog = new AtomicLong();

    /** -ENFILE if the mount holds {@link #MAX_OPEN_FILES} open files, else 0. */
    private int openLimit(String path) {
        if (openFiles.size() < MAX_OPEN_FILES) {
            return 0;
        }
        long now = System.nanoTime();
        long last = lastTooManyLog.get();
        if (now - last > 10_000_000_000L && lastTooManyLog.compareAndSet(last, now)) {
            log.warn("open {}: {} files are open through this mount, the most it holds at once: ENFILE", path,
                    openFiles.size());
        }
        return -ENFILE;
    }

    @Override
    public int open(String path, FuseFileInfo fi) {
        int full = openLimit(path);
        if (full != 0) {
            return full;
        }
        return guardStale("open", path, () -> {
            OpContext c = ctx();
            int acc = fi.flags.get() & O_ACCMODE;
            if (acc != 0) {
                checkWritable();
            }
            FileHandle h = cache.resolve(c, path);
            FileAttributes a = cache.attrs(c, h, true);
            if (a.isDirectory() && acc != 0) {
                throw new IsDirException("is a directory");
            }
            return registerOpen(h, a, fi, false);
        });
    }

    @Override
    public int create(String path, @mode_t long mode, FuseFileInfo fi) {
        int full = openLimit(path);
        if (full != 0) {
            return full;
        }
        return guardStale("create", path, () -> {
            checkWritable();
            OpContext c = ctx();
            String parent = NodeCache.parentOf(path);
            FileHandle dir = cache.resolve(c, parent);
            CreateMode how = (fi.flags.get() & O_EXCL) != 0 ? CreateMode.EXCLUSIVE : CreateMode.UNCHECKED;
            RemoteFs.Made m = makeIn(parent, () -> fs.createIn(c, dir, NodeCache.nameOf(path), (int) (mode & 07777), how));
            Entry e = m.entry();
            if (how == CreateMode.EXCLUSIVE) {
                // A file this call created has no capabilities: spare the kernel's query before the first write.
                absentXattrs.note(e.handle().inode(), SECURITY_CAPABILITY, System.nanoTime());
            }
            cache.added(parent, NodeCache.nameOf(path), e);
            cache.madeIn(parent, dir, m.dirAfter(), false);
            return registerOpen(e.handle(), e.attributes(), fi, true);
        });
    }

    @Override
    public int read(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
        OpenFile of = openFiles.get(fi.fh.get());
        return guard("read", path, () -> {
            OpContext c = ctx();
            FileHandle h = of != null ? of.handle() : cache.resolve(c, path);
            FileState s = of != null ? of.state() : states.get(h.inode());
            if (of != null) {
                int[] written = {0};
                int got = fromReadAhead(c.credentials(), h, s, offset, (int) size, (data, from, len) -> {
                    copyOut(data.slice(data.readerIndex() + from, len), buf.slice(written[0]), len);
                    written[0] += len;
                });
                if (got >= 0) {
                    return got;
                }
            } else if (s != null) {
                s.awaitRange(offset, size);
            }
            long writtenEnd = s != null ? s.writtenEnd() : -1;
            int want = (int) Math.min(size, Integer.MAX_VALUE);
            ReadResult r = fs.read(c, h, offset, want);
            ByteBuf data = r.data();
            try {
                int n = data.readableBytes();
                copyOut(data, buf, n);
                int zeros = FileState.holeAfter(offset, want, n, writtenEnd);
                if (zeros > 0) {
                    buf.setMemory(n, zeros, (byte) 0);
                }
                return n + zeros;
            } finally {
                data.release();
            }
        });
    }

    /**
     * Waits for this client's writes that overlap the range, then answers from the open file's
     * read-ahead if it has no writes unsent; returns the bytes given to {@code sink}, or -1 when
     * the caller must ask the server.
     */
    private int fromReadAhead(Credentials creds, FileHandle h, FileState s, long offset, int size, ReadAhead.Sink sink)
            throws IOException {
        s.awaitRange(offset, size);
        if (s.dirty()) {
            return -1;
        }
        return readAheads.computeIfAbsent(h.inode(), k -> new ReadAhead(fs, h, readAheadBudget))
                .read(creds, offset, size, sink);
    }

    /**
     * The same read as {@link #read}, taken by {@link FuseLoop} straight from the kernel's request
     * for an open file. The read-ahead and any wait for this file's own writes still happen on the
     * FUSE thread; a READ sent to the server is answered by the thread its reply arrives on.
     */
    boolean rawRead(RawRequest r) {
        OpenFile of = openFiles.get(r.fh);
        if (of == null) {
            return false;
        }
        FileHandle h = of.handle();
        try {
            Credentials creds = credentials(r.uid, r.gid, r.pid);
            // Allocated only when the read-ahead answers: random reads go to the server instead.
            ByteBuf[] out = new ByteBuf[1];
            try {
                int got = fromReadAhead(creds, h, of.state(), r.offset, r.size, (data, from, len) -> {
                    if (out[0] == null) {
                        out[0] = r.buffer();
                    }
                    out[0].writeBytes(data, data.readerIndex() + from, len);
                });
                if (got >= 0) {
                    r.reply(out[0] != null ? out[0].retain() : r.buffer());
                    return true;
                }
            } finally {
                if (out[0] != null) {
                    out[0].release();
                }
            }
            long writtenEnd = of.state().writtenEnd();
            fs.readAsync(creds, h, r.offset, r.size).whenComplete((res, e) -> {
                if (e != null) {
                    r.error(errno("read", h, e instanceof CompletionException && e.getCause() != null ? e.getCause() : e));
                    return;
                }
                ByteBuf data = res.data();
                try {
                    int zeros = FileState.holeAfter(r.offset, r.size, data.readableBytes(), writtenEnd);
                    if (zeros > 0) {
                        ByteBuf b = r.buffer();
                        b.writeBytes(data, data.readerIndex(), Math.min(data.readableBytes(), r.size));
                        b.writeZero(zeros);
                        r.reply(b);
                        return;
                    }
                    r.reply(data, data.readerIndex(), data.readableBytes());
                } catch (RuntimeException | Error x) {
                    // No buffer for the answer, say: the caller must still get one, or it waits forever.
                    r.error(errno("read", h, x));
                } finally {
                    data.release();
                }
            });
        } catch (IOException | RuntimeException | Error e) {
            r.error(errno("read", h, e));
        }
        return true;
    }

    /**
     * Copies reply data into the kernel's buffer. By address: jnr's Pointer.transferFrom falls
     * back to a byte-at-a-time loop unless both pointers are of one internal class, which cost
     * more than everything else on the data path.
     */
    private void copyOut(ByteBuf data, Pointer dst, int n) {
        if (n == 0) {
            return;
        }
        if (data.hasMemoryAddress() && dst.isDirect()) {
            PlatformDependent.copyMemory(data.memoryAddress() + data.readerIndex(), dst.address(), n);
        } else {
            byte[] tmp = new byte[n];
            data.getBytes(data.readerIndex(), tmp);
            dst.put(0, tmp, 0, n);
        }
    }

    @Override
    public int write(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
        OpenFile of = openFiles.get(fi.fh.get());
        return guard("write", path, () -> {
            checkWritable();
            OpContext c = ctx();
            FileHandle h = of != null ? of.handle() : cache.resolve(c, path);
            return write(c, h, of != null ? of.state() : state(h), buf, (int) size, offset);
        });
    }

    /** Takes a write of {@code n} bytes from {@code buf} into the file's write-behind. */
    private int write(OpContext c, FileHandle h, FileState s, Pointer buf, int n, long offset) throws IOException {
        if (offset + n > Vfs.MAX_FILE_SIZE) {
            // Refused now, as the server would refuse it: accepted into write-behind, the error
            // surfaced only at a later call, and the file showed a size it could never have.
            throw new FileTooBigException("a write ending at " + (offset + n) + " is past the largest file size");
        }
        ReadAhead ra = readAheads.get(h.inode());
        if (ra != null) {
            ra.dropAll();
        }
        if (s.holdsAttributes()) {
            // Held changes apply before this write (its mtime is later than any they set); once
            // sent they no longer show through the overlay, so the cache takes the server's answer.
            FileAttributes after = s.drain();
            if (after != null) {
                cache.putAttrs(h, after);
            } else {
                cache.invalidateAttrs(h);
            }
        }
        s.write(c.credentials(), offset, n, dst -> {
            dst.ensureWritable(n);
            if (dst.hasMemoryAddress() && buf.isDirect()) {
                PlatformDependent.copyMemory(buf.address(), dst.memoryAddress() + dst.writerIndex(), n);
                dst.writerIndex(dst.writerIndex() + n);
            } else {
                byte[] tmp = new byte[n];
                buf.get(0, tmp, 0, n);
                dst.writeBytes(tmp);
            }
        });
        if (!c.credentials().isRoot() && dropsPrivileges(cache.attrs(c, h, false).mode())) {
            // The kernel leaves clearing set-user-ID and set-group-ID to the server (see
            // KillPrivInit), so a write that clears them is sent now and the next stat asks the
            // server instead of showing the bits it cleared. Rare: a non-root write to such a file.
            flushState(s);
            cache.invalidateAttrs(h);
        }
        return n;
    }

    /** {@link #write} for a WRITE {@link FuseLoop} took straight from the kernel's request for an open file. */
    boolean rawWrite(RawRequest r) {
        OpenFile of = openFiles.get(r.fh);
        if (of == null) {
            return false;
        }
        try {
            checkWritable();
            r.written(write(OpContext.of(credentials(r.uid, r.gid, r.pid)), of.handle(), of.state(), r.data, r.size,
                    r.offset));
        } catch (IOException | RuntimeException | Error e) {
            r.error(errno("write", of.handle(), e));
        }
        return true;
    }

    /** Whether a write by a caller without CAP_FSETID clears bits of this mode, as Linux's write does. */
    static boolean dropsPrivileges(int mode) {
        return (mode & 04000) != 0 || (mode & 02010) == 02010;
    }

    private void flushState(FileState s) throws IOException {
        FileAttributes after = s.flush();
        long change = s.lastChange();
        if (after != null) {
            // The reply to the last call made (held attributes sent) is the file as it now is.
            cache.putAttrs(s.handle, after);
        } else {
            cache.invalidateAttrs(s.handle);
        }
        if (change >= 0) {
            // The kernel's pages hold what we wrote: keep them across the next open.
            cache.setPageCacheChange(s.handle.inode(), change);
        }
    }

    @Override
    public int flush(String path, FuseFileInfo fi) {
        OpenFile of = openFiles.get(fi.fh.get());
        if (of == null) {
            return 0;
        }
        return guard("flush", path, () -> {
            flushState(of.state());
            return 0;
        });
    }

    @Override
    public int fsync(String path, int isdatasync, FuseFileInfo fi) {
        OpenFile of = openFiles.get(fi.fh.get());
        return guard("fsync", path, () -> {
            if (of != null) {
                flushState(of.state());
            } else {
                fs.commit(ctx(), cache.resolve(ctx(), path));
            }
            return 0;
        });
    }

    @Override
    public int release(String path, FuseFileInfo fi) {
        OpenFile of = openFiles.remove(fi.fh.get());
        if (of == null) {
            return 0;
        }
        boolean flockRelease = (Struct.getMemory(fi).getInt(FI_BITS_OFFSET) & FI_FLOCK_RELEASE) != 0;
        long owner = fi.lock_owner.get();
        return guard("release", path, () -> {
            FileState s = of.state();
            if (flockRelease) {
                // The last close of a file that held a flock: the kernel asks us to drop it.
                fs.lock(ctx(), of.handle(), new LockRange(LockType.UNLOCK, 0, 0, owner, 0, true));
            }
            boolean last;
            synchronized (s) {
                last = --s.opens == 0;
                if ((of.flags() & O_ACCMODE) != 0) {
                    s.writers--;
                }
            }
            if (s.dirty()) {
                flushState(s);
            }
            if (last) {
                states.remove(s.handle.inode(), s);
                ReadAhead ra = readAheads.remove(s.handle.inode());
                if (ra != null) {
                    ra.dropAll();
                }
            }
            return 0;
        });
    }

    // ------------------------------------------------------------------ directories

    @Override
    public int opendir(String path, FuseFileInfo fi) {
        return guardStale("opendir", path, () -> {
            OpContext c = ctx();
            FileHandle h = cache.resolve(c, path);
            FileAttributes a = cache.attrs(c, h, false);
            if (!a.isDirectory()) {
                throw new io.coffer.core.status.NotDirException("not a directory");
            }
            long id = nextFh.getAndIncrement();
            openDirs.put(id, new OpenDir(h, path, recentListings));
            fi.fh.set(id);
            return 0;
        });
    }

    private static ByteBuffer cname(String name) {
        byte[] b = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer bb = ByteBuffer.allocate(b.length + 1);
        bb.put(b).put((byte) 0).flip();
        return bb;
    }

    @Override
    public int readdir(String path, Pointer buf, FuseFillDir filter, @off_t long offset, FuseFileInfo fi) {
        return guardStale("readdir", path, () -> {
            OpContext c = ctx();
            OpenDir open = openDirs.get(fi.fh.get());
            OpenDir od = open != null ? open : new OpenDir(cache.resolve(c, path), path, recentListings);
            FileHandle dir = od.handle;
            Pointer statMem = Memory.allocateDirect(runtime, 256);
            FileStat st = FileStat.of(statMem);
            if (offset < 1) {
                FileAttributes self = cache.attrs(c, dir, false);
                fillStat(st, self);
                if (filter.apply(buf, cname("."), statMem, 1) != 0) {
                    return 0;
                }
            }
            if (offset < 2) {
                if (filter.apply(buf, cname(".."), null, 2) != 0) {
                    return 0;
                }
            }
            od.fill(offset, (cookie, max) -> fs.readdir(c, dir, cookie, max), (e, again) -> {
                if (!again) {
                    cache.added(path, e.name(), new Entry(e.handle(), e.attributes()));
                }
                fillStat(st, e.attributes());
                return filter.apply(buf, cname(e.name()), statMem, e.cookie()) == 0;
            });
            return 0;
        });
    }

    @Override
    public int releasedir(String path, FuseFileInfo fi) {
        openDirs.remove(fi.fh.get());
        return 0;
    }

    @Override
    public int fsyncdir(String path, FuseFileInfo fi) {
        return guard("fsyncdir", path, () -> {
            OpContext c = ctx();
            FileHandle h = cache.resolve(c, path);
            fs.commit(c, h);
            FsException late = removeErrors.remove(h.inode());
            if (late != null) {
                throw late;
            }
            return 0;
        });
    }

    @Override
    public int statfs(String path, Statvfs stbuf) {
        return guard("statfs", path, () -> {
            OpContext c = ctx();
            FsStats s = fs.fsstat(c, cache.rootHandle());
            long bs = s.blockSize();
            stbuf.f_bsize.set(bs);
            stbuf.f_frsize.set(bs);
            stbuf.f_blocks.set(s.totalBytes() / bs);
            stbuf.f_bfree.set(s.freeBytes() / bs);
            stbuf.f_bavail.set(s.availableBytes() / bs);
            stbuf.f_files.set(s.totalFiles());
            stbuf.f_ffree.set(s.freeFiles());
            stbuf.f_favail.set(s.freeFiles());
            stbuf.f_namemax.set(s.maxNameLength());
            return 0;
        });
    }

    // ------------------------------------------------------------------ xattrs

    @Override
    public int setxattr(String path, String name, Pointer value, @size_t long size, int flags) {
        return guardStale("setxattr", path, () -> {
            checkWritable();
            OpContext c = ctx();
            byte[] v = new byte[(int) size];
            value.get(0, v, 0, v.length);
            FileHandle h = cache.resolve(c, path);
            absentXattrs.forget(h.inode());
            fs.setxattr(c, h, name, v, XattrSetMode.ofFlags(flags));
            cache.invalidateAttrs(h);
            return 0;
        });
    }

    private static final String SECURITY_CAPABILITY = "security.capability";

    /** What the kernel's getxattr before every write was told is absent, for the attribute timeout. */
    private final AbsentXattrs absentXattrs;

    @Override
    public int getxattr(String path, String name, Pointer value, @size_t long size) {
        return guardStale("getxattr", path, () -> {
            OpContext c = ctx();
            FileHandle h = cache.resolve(c, path);
            // The kernel asks for security.capability before every write, to know whether to drop
            // capabilities; an answer of "absent" is cached like attributes are (for the attribute
            // timeout, and forgotten when this client changes the file's xattrs).
            if (absentXattrs.known(h.inode(), name, System.nanoTime())) {
                throw new io.coffer.core.status.NoDataException("no such attribute");
            }
            byte[] v;
            try {
                v = fs.getxattr(c, h, name);
            } catch (io.coffer.core.status.NoDataException e) {
                absentXattrs.note(h.inode(), name, System.nanoTime());
                throw e;
            }
            if (size == 0) {
                return v.length;
            }
            if (size < v.length) {
                throw new RangeException("buffer too small");
            }
            value.put(0, v, 0, v.length);
            return v.length;
        });
    }

    @Override
    public int listxattr(String path, Pointer list, @size_t long size) {
        return guardStale("listxattr", path, () -> {
            OpContext c = ctx();
            List<String> names = fs.listxattr(c, cache.resolve(c, path));
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            for (String n : names) {
                byte[] b = n.getBytes(StandardCharsets.UTF_8);
                out.write(b, 0, b.length);
                out.write(0);
            }
            byte[] all = out.toByteArray();
            if (size == 0) {
                return all.length;
            }
            if (size < all.length) {
                throw new RangeException("buffer too small");
            }
            list.put(0, all, 0, all.length);
            return all.length;
        });
    }

    @Override
    public int removexattr(String path, String name) {
        return guardStale("removexattr", path, () -> {
            checkWritable();
            OpContext c = ctx();
            FileHandle h = cache.resolve(c, path);
            absentXattrs.forget(h.inode());
            fs.removexattr(c, h, name);
            cache.invalidateAttrs(h);
            return 0;
        });
    }

    // ------------------------------------------------------------------ locks

    private FileHandle lockTarget(String path, FuseFileInfo fi) throws IOException {
        OpenFile of = openFiles.get(fi.fh.get());
        return of != null ? of.handle() : cache.resolve(ctx(), path);
    }

    @Override
    public int lock(String path, FuseFileInfo fi, int cmd, Flock flock) {
        return guard("lock", path, () -> {
            FileHandle h = lockTarget(path, fi);
            long owner = fi.lock_owner.get();
            int t = flock.l_type.get();
            LockType type = t == F_RDLCK ? LockType.READ : t == F_WRLCK ? LockType.WRITE : LockType.UNLOCK;
            long start = flock.l_start.get();
            long len = flock.l_len.get();
            if (len < 0) {
                start += len;
                len = -len;
            }
            if (start < 0) {
                throw new InvalException("lock range starts before the file");
            }
            int pid = (int) getContext().pid.get();
            LockRange want = new LockRange(type, start, len, owner, pid, false);
            OpContext c = ctx();
            if (cmd == F_GETLK) {
                LockRange conflict = fs.testLock(c, h, want);
                if (conflict == null) {
                    flock.l_type.set(F_UNLCK);
                } else {
                    flock.l_type.set(conflict.type() == LockType.READ ? F_RDLCK : F_WRLCK);
                    flock.l_start.set(conflict.start());
                    flock.l_len.set(conflict.length());
                    flock.l_pid.set(conflict.pid());
                }
                return 0;
            }
            if (cmd != F_SETLK && cmd != F_SETLKW) {
                throw new InvalException("unknown lock command " + cmd);
            }
            if (type == LockType.UNLOCK && !posixLocked.contains(h.inode())) {
                // libfuse unlocks on every close (POSIX drops a process's locks then); a file this
                // mount never locked has nothing to drop, and the call would cost a round trip.
                return 0;
            }
            if (type != LockType.UNLOCK) {
                posixLocked.add(h.inode());
            }
            acquire(c, h, want, cmd == F_SETLKW);
            return 0;
        });
    }

    @Override
    public int flock(String path, FuseFileInfo fi, int op) {
        return guard("flock", path, () -> {
            FileHandle h = lockTarget(path, fi);
            long owner = fi.lock_owner.get();
            LockType type = (op & LOCK_UN) != 0 ? LockType.UNLOCK : (op & LOCK_EX) != 0 ? LockType.WRITE : LockType.READ;
            if ((op & (LOCK_SH | LOCK_EX | LOCK_UN)) == 0) {
                throw new InvalException("bad flock operation " + op);
            }
            int pid = (int) getContext().pid.get();
            acquire(ctx(), h, new LockRange(type, 0, 0, owner, pid, true), (op & LOCK_NB) == 0);
            return 0;
        });
    }

    /** Inodes this mount has ever taken a POSIX (fcntl) lock on. */
    private final java.util.Set<Long> posixLocked = ConcurrentHashMap.newKeySet();

    /** Takes a lock; a blocking request polls with backoff, the server never blocks a call. */
    private void acquire(OpContext c, FileHandle h, LockRange want, boolean wait) throws IOException {
        long delay = 5;
        while (true) {
            try {
                fs.lock(c, h, want);
                return;
            } catch (AgainException e) {
                if (!wait) {
                    throw e;
                }
            }
            try {
                Thread.sleep(delay);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new IoException("interrupted while waiting for a lock");
            }
            delay = Math.min(500, delay * 2);
        }
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Mounts and serves requests on {@code threads} Java threads until unmounted (see
     * {@link FuseLoop} for why not jnr-fuse's own mount).
     */
    public void serve(java.nio.file.Path mountpoint, List<String> fuseArgs, int threads) throws IOException {
        FuseLoop.run(fuseOperations, new FuseLoop.RawRequests() {
            @Override
            public boolean read(RawRequest r) {
                return rawRead(r);
            }

            @Override
            public boolean write(RawRequest r) {
                return rawWrite(r);
            }
        }, linkedNodes, mountpoint, fuseArgs, threads);
    }

    /** Flushes every open file (at unmount). */
    public void flushAll() {
        try {
            fs.awaitRemoves();
        } catch (IOException e) {
            log.error("waiting for removes at unmount failed: {}", e.getMessage());
        }
        for (FileState s : states.values()) {
            try {
                s.flush();
            } catch (IOException e) {
                log.error("flushing {} at unmount failed: {}", s.handle, e.getMessage());
            }
        }
    }

    @Override
    public void destroy(Pointer initResult) {
        flushAll();
    }
}
