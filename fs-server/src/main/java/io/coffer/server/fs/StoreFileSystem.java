package io.coffer.server.fs;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.coffer.core.CreateMode;
import io.coffer.core.Credentials;
import io.coffer.core.DirEntry;
import io.coffer.core.DirListing;
import io.coffer.core.Entry;
import io.coffer.core.FileAttributes;
import io.coffer.core.FileHandle;
import io.coffer.core.FileSystemId;
import io.coffer.core.FileType;
import io.coffer.core.FsStats;
import io.coffer.core.LockRange;
import io.coffer.core.OpContext;
import io.coffer.core.ReadResult;
import io.coffer.core.SetAttributes;
import io.coffer.core.Vfs;
import io.coffer.core.WriteResult;
import io.coffer.core.XattrSetMode;
import io.coffer.core.rpc.Protocol;
import io.coffer.core.status.AccessException;
import io.coffer.core.status.ExistException;
import io.coffer.core.status.FileTooBigException;
import io.coffer.core.status.InvalException;
import io.coffer.core.status.IoException;
import io.coffer.core.status.IsDirException;
import io.coffer.core.status.NameTooLongException;
import io.coffer.core.status.NoDataException;
import io.coffer.core.status.NoEntException;
import io.coffer.core.status.NoSpaceException;
import io.coffer.core.status.NotDirException;
import io.coffer.core.status.NotEmptyException;
import io.coffer.core.status.NotSupportedException;
import io.coffer.core.status.PermException;
import io.coffer.core.status.RangeException;
import io.coffer.core.status.StaleException;
import io.coffer.core.status.TooManyLinksException;
import io.coffer.server.chunk.ChunkKey;
import io.coffer.server.chunk.ChunkStore;
import io.coffer.server.chunk.SealedChunk;
import io.coffer.server.chunk.SegmentChunkStore;
import io.coffer.server.crypto.FsCipher;
import io.coffer.server.crypto.FsCipher.NameDomain;
import io.coffer.server.crypto.FsCipher.RecordKind;
import io.coffer.server.meta.KeySpace;
import io.coffer.server.meta.Keys;
import io.coffer.server.meta.MetaReader;
import io.coffer.server.meta.MetaTxn;
import io.coffer.server.meta.MetadataStore;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's file systems, over a {@link MetadataStore} and a {@link ChunkStore}: the
 * implementation of {@link Vfs} that the RPC dispatcher calls, plus the catalog of file systems.
 *
 * <p>Concurrency: every namespace change is one metadata transaction that locks (reads for
 * update) the rows it decides on, so concurrent operations, also from other server processes
 * sharing a transactional store, serialize correctly. Writes to one file's data additionally
 * hold a per-file lock in this process while they read, merge and append chunks.
 *
 * <p>Durability: see {@link MetadataStore}; {@link #commit} and stable writes sync the chunk
 * store and then the metadata store, in that order, so a durable reference never points at
 * data that is not durable.
 */
public final class StoreFileSystem implements Vfs, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StoreFileSystem.class);
    static final long ROOT_INODE = 1;
    private static final long FIRST_INODE = 16;
    private static final long FIRST_COOKIE = 3;
    private static final int MAX_LINKS = 65000;
    private static final int MAX_XATTR_LIST = 64 * 1024;
    static final int DEFAULT_CHUNK_SIZE = 64 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final MetadataStore meta;
    private final ChunkStore chunks;
    private final CipherSource ciphers;
    private final Clock clock;
    private final Path dataDir;
    private final boolean strictSync;
    private final long verifier;
    private final GroupSync groupSync;
    private final SecureRandom random = new SecureRandom();
    private final Map<Integer, FileSystemRecord> fileSystems = new ConcurrentHashMap<>();
    private final Map<Integer, Counters> inodeCounters = new ConcurrentHashMap<>();
    private final Map<Integer, Counters> versionCounters = new ConcurrentHashMap<>();
    private final ReentrantLock[] dataLocks = new ReentrantLock[1024];
    private final ExecutorService reclaimer = Executors.newSingleThreadExecutor(r -> daemon(r, "reclaimer"));
    /** Set by {@link #close}: background work stops between batches. */
    private volatile boolean closing;
    private final ScheduledExecutorService background = Executors.newSingleThreadScheduledExecutor(
            r -> daemon(r, "store-maintenance"));
    private final LockTable locks;

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Settings of the store layer. */
    public record Options(boolean strictSync, long syncIntervalMillis, long compactIntervalMillis, double compactLiveRatio,
            long lockLeaseMillis) {
        public static Options defaults() {
            return new Options(false, 1000, 30_000, 0.5, 90_000);
        }
    }

    public StoreFileSystem(MetadataStore meta, ChunkStore chunks, CipherSource ciphers, Clock clock, Path dataDir,
            Options options) throws IOException {
        this.meta = meta;
        this.chunks = chunks;
        this.ciphers = ciphers;
        this.clock = clock;
        this.dataDir = dataDir;
        this.strictSync = options.strictSync();
        this.verifier = random.nextLong();
        for (int i = 0; i < dataLocks.length; i++) {
            dataLocks[i] = new ReentrantLock();
        }
        this.groupSync = new GroupSync(() -> {
            chunks.sync();
            meta.sync();
        });
        this.locks = new LockTable(meta, clock, options.lockLeaseMillis());
        loadCatalog();
        if (chunks instanceof SegmentChunkStore seg) {
            countLiveChunks(seg);
        }
        resumeReclaims();
        if (options.syncIntervalMillis() > 0) {
            background.scheduleWithFixedDelay(this::periodicSync, options.syncIntervalMillis(),
                    options.syncIntervalMillis(), TimeUnit.MILLISECONDS);
        }
        if (chunks instanceof SegmentChunkStore seg && options.compactIntervalMillis() > 0) {
            background.scheduleWithFixedDelay(() -> compactQuietly(seg, options.compactLiveRatio()),
                    options.compactIntervalMillis(), options.compactIntervalMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void periodicSync() {
        try {
            groupSync.sync();
        } catch (IOException | RuntimeException e) {
            log.error("periodic sync failed: {}", e.toString());
        }
    }

    /** The write verifier of this server instance; a restart changes it. */
    public long verifier() {
        return verifier;
    }

    public LockTable lockTable() {
        return locks;
    }

    /** Makes all acknowledged changes durable against a machine crash. */
    public void sync() throws IOException {
        groupSync.sync();
    }

    /** Whether every metadata change is fsynced before its reply ({@code --sync always}). */
    public boolean strictSync() {
        return strictSync;
    }

    /** In strict mode, makes a metadata change durable before its reply; otherwise nothing. */
    public void afterMutation() throws IOException {
        if (strictSync) {
            groupSync.sync();
        }
    }

    // ------------------------------------------------------------------ catalog

    private void loadCatalog() throws IOException {
        meta.read(r -> {
            r.scan(KeySpace.FILESYSTEMS, new byte[0], null, (k, v) -> {
                FileSystemRecord rec = JSON.readValue(v, FileSystemRecord.class);
                fileSystems.put(ByteBuffer.wrap(k).getInt(), rec);
                return true;
            });
            return null;
        });
        for (Map.Entry<Integer, FileSystemRecord> e : fileSystems.entrySet()) {
            if (FileSystemRecord.STATE_DELETING.equals(e.getValue().state())) {
                int fsId = e.getKey();
                reclaimer.submit(() -> purgeFileSystem(fsId));
            }
        }
    }

    /**
     * Creates a file system with a fresh id and an empty root directory owned by root, mode 0755.
     *
     * @param encrypted whether data and names are encrypted at rest
     * @param kmsKey the CMK reference for its data key (null: the default key); ignored when not encrypted
     */
    public FileSystemRecord createFileSystem(String name, boolean encrypted, String kmsKey, int chunkSize,
            String caller) throws IOException {
        if (chunkSize <= 0) {
            chunkSize = DEFAULT_CHUNK_SIZE;
        }
        if (chunkSize < 4096 || chunkSize > (1 << 20) || Integer.bitCount(chunkSize) != 1) {
            throw new InvalException("chunk size must be a power of two between 4 KiB and 1 MiB");
        }
        int id;
        do {
            id = random.nextInt();
        } while (id == 0 || fileSystems.containsKey(id));
        String fsId = new FileSystemId(id).toString();
        String keyId = null;
        String wrapped = null;
        if (encrypted) {
            CipherSource.NewKey k = ciphers.newDataKey(fsId, kmsKey, caller);
            keyId = k.keyId();
            wrapped = k.wrappedDataKey();
        }
        FileSystemRecord rec = new FileSystemRecord(fsId, 1, name, clock.millis(), encrypted, keyId, wrapped,
                chunkSize, ROOT_INODE, null, FileSystemRecord.STATE_AVAILABLE);
        FsCipher cipher = ciphers.cipher(rec);
        final int fid = id;
        long now = nanos();
        InodeRecord root = new InodeRecord();
        root.type = FileType.DIRECTORY;
        root.mode = 0755;
        root.nlink = 2;
        root.atime = root.mtime = root.ctime = root.btime = now;
        root.generation = random.nextInt();
        root.parent = ROOT_INODE;
        root.nextCookie = FIRST_COOKIE;
        byte[] sealedRoot = cipher.sealRecord(RecordKind.INODE, ROOT_INODE, root.encode());
        byte[] recBytes = JSON.writeValueAsBytes(rec);
        meta.write(t -> {
            t.put(KeySpace.FILESYSTEMS, Keys.fs(fid), recBytes);
            t.put(KeySpace.INODES, Keys.fsIno(fid, ROOT_INODE), sealedRoot);
            return null;
        });
        groupSync.sync();
        fileSystems.put(id, rec);
        log.info("created file system {} (encrypted: {}, key: {}) for {}", fsId, encrypted, keyId, caller);
        return rec;
    }

    private final Map<String, io.coffer.server.transport.TransportRule> parsedRules = new ConcurrentHashMap<>();

    /**
     * The transport policy of a file system (who may use it without TLS), from its policy JSON
     * field {@code transport}; {@code loopback-plaintext} when unset or unknown.
     */
    public io.coffer.server.transport.TransportRule transportRule(FileSystemId id) {
        FileSystemRecord r = fileSystems.get(id.value());
        String policy = r == null ? null : r.policy();
        if (policy == null) {
            return io.coffer.server.transport.TransportRule.LOOPBACK_PLAINTEXT;
        }
        return parsedRules.computeIfAbsent(policy, p -> {
            try {
                String t = JSON.readTree(p).path("transport").asText("loopback-plaintext");
                return io.coffer.server.transport.TransportRule.parse(t);
            } catch (IOException e) {
                log.error("file system {} has an unreadable policy; treating it as tls-required: {}", id, e.getMessage());
                return io.coffer.server.transport.TransportRule.TLS_REQUIRED;
            }
        });
    }

    public List<FileSystemRecord> listFileSystems() {
        List<FileSystemRecord> l = new ArrayList<>(fileSystems.values());
        l.sort((a, b) -> a.id().compareTo(b.id()));
        return l;
    }

    public FileSystemRecord describeFileSystem(String id) throws IOException {
        FileSystemRecord r = fileSystems.get(FileSystemId.parse(id).value());
        if (r == null) {
            throw new NoEntException("no file system " + id);
        }
        return r;
    }

    /** Changes a file system's policy (transport and access rules, as JSON). */
    public FileSystemRecord updatePolicy(String id, String policyJson) throws IOException {
        FileSystemRecord r = describeFileSystem(id);
        var node = JSON.readTree(policyJson);
        if (node == null || !node.isObject()) {
            throw new InvalException("a policy is a JSON object");
        }
        if (node.has("transport")) {
            io.coffer.server.transport.TransportRule.parse(node.get("transport").asText());
        }
        FileSystemRecord n = new FileSystemRecord(r.id(), r.formatVersion(), r.name(), r.createdMillis(), r.encrypted(),
                r.kmsKeyId(), r.wrappedDataKey(), r.chunkSize(), r.rootInode(), policyJson, r.state());
        int fid = FileSystemId.parse(id).value();
        byte[] b = JSON.writeValueAsBytes(n);
        meta.write(t -> {
            t.put(KeySpace.FILESYSTEMS, Keys.fs(fid), b);
            return null;
        });
        groupSync.sync();
        fileSystems.put(fid, n);
        return n;
    }

    /** Deletes a file system and, in the background, all its data. */
    public void deleteFileSystem(String id) throws IOException {
        FileSystemRecord r = describeFileSystem(id);
        int fid = FileSystemId.parse(id).value();
        FileSystemRecord n = new FileSystemRecord(r.id(), r.formatVersion(), r.name(), r.createdMillis(), r.encrypted(),
                r.kmsKeyId(), r.wrappedDataKey(), r.chunkSize(), r.rootInode(), r.policy(),
                FileSystemRecord.STATE_DELETING);
        byte[] b = JSON.writeValueAsBytes(n);
        meta.write(t -> {
            t.put(KeySpace.FILESYSTEMS, Keys.fs(fid), b);
            return null;
        });
        groupSync.sync();
        fileSystems.remove(fid);
        ciphers.forget(id);
        reclaimer.submit(() -> purgeFileSystem(fid));
        log.info("file system {} deleted; reclaiming its space", id);
    }

    private void purgeFileSystem(int fid) {
        try {
            for (KeySpace s : new KeySpace[] {KeySpace.CHUNKS, KeySpace.DIRENTS, KeySpace.DIRCOOKIES, KeySpace.XATTRS,
                    KeySpace.LOCKS, KeySpace.ORPHANS, KeySpace.INODES}) {
                deletePrefixInBatches(s, Keys.fs(fid), s == KeySpace.CHUNKS);
            }
            meta.write(t -> {
                t.delete(KeySpace.FILESYSTEMS, Keys.fs(fid));
                t.delete(KeySpace.COUNTERS, ("ino:" + fid).getBytes(StandardCharsets.UTF_8));
                t.delete(KeySpace.COUNTERS, ("ver:" + fid).getBytes(StandardCharsets.UTF_8));
                return null;
            });
            groupSync.sync();
        } catch (IOException | RuntimeException e) {
            log.error("reclaiming file system fs-{} failed; will retry at next start: {}", Integer.toHexString(fid),
                    e.toString());
        }
    }

    private void deletePrefixInBatches(KeySpace space, byte[] prefix, boolean releaseChunks) throws IOException {
        byte[] after = null;
        while (true) {
            if (closing) {
                throw new IoException("closing");
            }
            List<byte[][]> batch = new ArrayList<>();
            byte[] from = after;
            // Each batch starts after the last key of the one before, not at the prefix again,
            // where it would first step over the tombstones of every key already deleted.
            meta.read(r -> {
                r.scan(space, prefix, from, (k, v) -> {
                    batch.add(new byte[][] {k, v});
                    return batch.size() < 4096;
                });
                return null;
            });
            if (batch.isEmpty()) {
                return;
            }
            meta.write(t -> {
                for (byte[][] kv : batch) {
                    t.delete(space, kv[0]);
                    if (releaseChunks) {
                        releaseLater(t, kv[1]);
                    }
                }
                return null;
            });
            after = batch.get(batch.size() - 1)[0];
        }
    }

    // ------------------------------------------------------------------ helpers

    private long nanos() {
        Instant i = clock.instant();
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }

    private final class Fs {
        final int id;
        final FileSystemRecord record;
        final FsCipher cipher;
        final int chunkSize;

        Fs(int id, FileSystemRecord record, FsCipher cipher) {
            this.id = id;
            this.record = record;
            this.cipher = cipher;
            this.chunkSize = record.chunkSize();
        }
    }

    /**
     * Whether calls on file system {@code fsId} can be served without asking a KMS for its data
     * key (unknown ids answer ESTALE without one).
     */
    public boolean keyReady(int fsId) {
        FileSystemRecord rec = fileSystems.get(fsId);
        return rec == null || ciphers.ready(rec);
    }

    private Fs fs(int fsId) throws IOException {
        FileSystemRecord rec = fileSystems.get(fsId);
        if (rec == null) {
            throw new StaleException(String.format("no file system fs-%08x", fsId));
        }
        return new Fs(fsId, rec, ciphers.cipher(rec));
    }

    private ReentrantLock dataLock(int fs, long ino) {
        int h = Long.hashCode(ino * 0x9E3779B97F4A7C15L) ^ fs;
        return dataLocks[(h & 0x7fffffff) % dataLocks.length];
    }

    /**
     * Thrown instead of waiting for a file's data lock inside {@link #withoutWaiting}, before the
     * call has changed anything.
     */
    public static final class WouldWait extends RuntimeException {
        private static final long serialVersionUID = 1L;

        WouldWait() {
            super("the file's data lock is held", null, false, false);
        }
    }

    /** Set while a call runs on a network event loop, which must not wait behind a worker's fsync. */
    private static final ThreadLocal<Boolean> NO_WAIT = new ThreadLocal<>();

    /** A piece of work that may fail with an exception of type {@code E}. */
    public interface Work<T, E extends Exception> {
        T run() throws E;
    }

    /**
     * Runs {@code work} so that taking a file's data lock held by another thread throws
     * {@link WouldWait} instead of waiting (the lock is held across a stable write's fsync).
     */
    public static <T, E extends Exception> T withoutWaiting(Work<T, E> work) throws E {
        Boolean outer = NO_WAIT.get();
        NO_WAIT.set(Boolean.TRUE);
        try {
            return work.run();
        } finally {
            NO_WAIT.set(outer);
        }
    }

    private static void acquire(ReentrantLock lock) {
        if (NO_WAIT.get() == null) {
            lock.lock();
        } else if (!lock.tryLock()) {
            throw new WouldWait();
        }
    }

    private long nextInode(Fs fs) throws IOException {
        return inodeCounters.computeIfAbsent(fs.id, id -> new Counters(meta, "ino:" + id, FIRST_INODE, 1024)).next();
    }

    private long nextVersion(Fs fs) throws IOException {
        return versionCounters.computeIfAbsent(fs.id, id -> new Counters(meta, "ver:" + id, 1, 1 << 16)).next();
    }

    private InodeRecord readInode(MetaReader r, Fs fs, long ino) throws IOException {
        byte[] sealed = r.get(KeySpace.INODES, Keys.fsIno(fs.id, ino));
        return sealed == null ? null : InodeRecord.decode(fs.cipher.openRecord(RecordKind.INODE, ino, sealed));
    }

    private InodeRecord lockInode(MetaTxn t, Fs fs, long ino) throws IOException {
        byte[] sealed = t.getForUpdate(KeySpace.INODES, Keys.fsIno(fs.id, ino));
        return sealed == null ? null : InodeRecord.decode(fs.cipher.openRecord(RecordKind.INODE, ino, sealed));
    }

    private InodeRecord inode(MetaReader r, Fs fs, FileHandle h) throws IOException {
        InodeRecord rec = readInode(r, fs, h.inode());
        if (rec == null || rec.generation != h.generation()) {
            throw new StaleException("stale file handle " + h);
        }
        return rec;
    }

    private InodeRecord lockedInode(MetaTxn t, Fs fs, FileHandle h) throws IOException {
        InodeRecord rec = lockInode(t, fs, h.inode());
        if (rec == null || rec.generation != h.generation()) {
            throw new StaleException("stale file handle " + h);
        }
        return rec;
    }

    private void writeInode(MetaTxn t, Fs fs, long ino, InodeRecord rec) throws IOException {
        t.put(KeySpace.INODES, Keys.fsIno(fs.id, ino), fs.cipher.sealRecord(RecordKind.INODE, ino, rec.encode()));
    }

    private FileAttributes attrs(Fs fs, long ino, InodeRecord r) {
        return r.attributes(ino, fs.cipher.chunkOverhead(), fs.chunkSize);
    }

    private FileHandle handle(Fs fs, long ino, InodeRecord r) {
        return new FileHandle(fs.id, ino, r.generation);
    }

    private static void validateName(String name) throws IOException {
        if (name == null || name.isEmpty() || name.indexOf('/') >= 0 || name.indexOf('\0') >= 0) {
            throw new InvalException("invalid file name");
        }
        if (name.getBytes(StandardCharsets.UTF_8).length > Protocol.MAX_NAME_BYTES) {
            throw new NameTooLongException("file name longer than 255 bytes");
        }
    }

    private static void validateNewName(String name) throws IOException {
        validateName(name);
        if (name.equals(".") || name.equals("..")) {
            throw new ExistException("'" + name + "' always exists");
        }
    }

    /** A directory entry's value: child inode, its generation, the entry's cookie and the child's type. */
    private record Dirent(long inode, int generation, long cookie, FileType type) {
        byte[] encode() {
            return ByteBuffer.allocate(21).putLong(inode).putInt(generation).putLong(cookie).put((byte) type.code())
                    .array();
        }

        static Dirent decode(byte[] b) {
            ByteBuffer bb = ByteBuffer.wrap(b);
            return new Dirent(bb.getLong(), bb.getInt(), bb.getLong(), FileType.ofCode(bb.get()));
        }
    }

    /** Chunks of at most this many plaintext bytes, when they are a file's first and only chunk, live in the metadata store. */
    static final int INLINE_MAX = 8192;

    private ByteBuffer sealedOf(ChunkKey key, ChunkRef ref) throws IOException {
        return ref.inline() != null ? ByteBuffer.wrap(ref.inline()) : chunks.readTransient(key, ref.locator());
    }

    private void releaseLater(MetaTxn t, byte[] refBytes) throws IOException {
        for (byte[] loc : ChunkRef.locatorsOf(refBytes)) {
            t.afterCommit(() -> chunks.release(loc));
        }
    }

    private byte[] direntKey(Fs fs, long dir, byte[] nameKey) {
        return Keys.fsInoBytes(fs.id, dir, nameKey);
    }

    /** A directory entry's value, sealed to its directory and name so it cannot be moved to another name. */
    private static byte[] sealDirent(Fs fs, long dir, byte[] nameKey, Dirent d) throws IOException {
        return fs.cipher.sealRecord(RecordKind.DIRENT, dir, nameKey, d.encode());
    }

    private static Dirent openDirent(Fs fs, long dir, byte[] nameKey, byte[] value) throws IOException {
        return Dirent.decode(fs.cipher.openRecord(RecordKind.DIRENT, dir, nameKey, value));
    }

    private byte[] cookieKey(Fs fs, long dir, long cookie) {
        return Keys.fsInoLong(fs.id, dir, cookie);
    }

    private static void requireDir(InodeRecord r) throws NotDirException {
        if (r.type != FileType.DIRECTORY) {
            throw new NotDirException("not a directory");
        }
    }

    private void touchDir(InodeRecord dir, long now) {
        dir.mtime = now;
        dir.ctime = now;
        dir.change++;
    }

    private void recordReply(MetaTxn t, OpContext ctx, Object result) throws IOException {
        if (ctx.recorder() != null && ctx.request() != null) {
            byte[] reply = ctx.recorder().encode(result);
            t.put(KeySpace.DRC, DuplicateRequests.key(ctx.request()), DuplicateRequests.value(clock.millis(), reply));
        }
    }

    // ------------------------------------------------------------------ namespace

    @Override
    public Entry mount(OpContext ctx, FileSystemId fsId, String path) throws IOException {
        FileSystemRecord rec = fileSystems.get(fsId.value());
        if (rec == null) {
            throw new NoEntException("no file system " + fsId);
        }
        Fs fs = fs(fsId.value());
        return meta.read(r -> {
            long ino = ROOT_INODE;
            InodeRecord cur = readInode(r, fs, ino);
            if (cur == null) {
                throw new IoException("root inode of " + fsId + " is missing");
            }
            for (String part : path.split("/")) {
                if (part.isEmpty() || part.equals(".")) {
                    continue;
                }
                requireDir(cur);
                Access.check(cur, ctx.credentials(), Access.X, "search " + path);
                if (part.equals("..")) {
                    ino = cur.parent;
                    cur = readInode(r, fs, ino);
                    continue;
                }
                validateName(part);
                byte[] nk = fs.cipher.nameKey(NameDomain.DIRENT, ino, part);
                byte[] d = r.get(KeySpace.DIRENTS, direntKey(fs, ino, nk));
                if (d == null) {
                    throw new NoEntException("no such directory in " + fsId + ": " + path);
                }
                ino = openDirent(fs, ino, nk, d).inode();
                cur = readInode(r, fs, ino);
                if (cur == null) {
                    throw new StaleException("entry without inode in " + path);
                }
            }
            requireDir(cur);
            return new Entry(handle(fs, ino, cur), attrs(fs, ino, cur));
        });
    }

    @Override
    public FileAttributes getattr(OpContext ctx, FileHandle h) throws IOException {
        Fs fs = fs(h.fsId());
        return meta.read(r -> attrs(fs, h.inode(), inode(r, fs, h)));
    }

    @Override
    public Entry lookup(OpContext ctx, FileHandle dirH, String name) throws IOException {
        Fs fs = fs(dirH.fsId());
        return meta.read(r -> {
            InodeRecord dir = inode(r, fs, dirH);
            requireDir(dir);
            Access.check(dir, ctx.credentials(), Access.X, "search directory");
            if (name.equals(".")) {
                return new Entry(dirH, attrs(fs, dirH.inode(), dir));
            }
            if (name.equals("..")) {
                InodeRecord p = readInode(r, fs, dir.parent);
                if (p == null) {
                    throw new StaleException("parent of " + dirH + " is gone");
                }
                return new Entry(handle(fs, dir.parent, p), attrs(fs, dir.parent, p));
            }
            validateName(name);
            byte[] nk = fs.cipher.nameKey(NameDomain.DIRENT, dirH.inode(), name);
            byte[] d = r.get(KeySpace.DIRENTS, direntKey(fs, dirH.inode(), nk));
            if (d == null) {
                throw new NoEntException("no such entry");
            }
            Dirent de = openDirent(fs, dirH.inode(), nk, d);
            InodeRecord child = readInode(r, fs, de.inode());
            if (child == null) {
                throw new StaleException("entry points at a missing inode");
            }
            return new Entry(handle(fs, de.inode(), child), attrs(fs, de.inode(), child));
        });
    }

    @Override
    public String readlink(OpContext ctx, FileHandle h) throws IOException {
        Fs fs = fs(h.fsId());
        return meta.read(r -> {
            InodeRecord rec = inode(r, fs, h);
            if (rec.type != FileType.SYMLINK) {
                throw new InvalException("not a symbolic link");
            }
            return rec.target;
        });
    }

    private Entry makeNode(OpContext ctx, FileHandle dirH, String name, FileType type, int mode, long rdev, String target,
            CreateMode how) throws IOException {
        validateNewName(name);
        Fs fs = fs(dirH.fsId());
        Credentials c = ctx.credentials();
        byte[] nameKey = fs.cipher.nameKey(NameDomain.DIRENT, dirH.inode(), name);
        long newIno = nextInode(fs);
        Entry e = meta.write(t -> {
            InodeRecord dir = lockedInode(t, fs, dirH);
            requireDir(dir);
            if (dir.nlink == 0) {
                throw new NoEntException("directory was removed");
            }
            byte[] dk = direntKey(fs, dirH.inode(), nameKey);
            byte[] existing = t.getForUpdate(KeySpace.DIRENTS, dk);
            if (existing != null) {
                Access.check(dir, c, Access.X, "search directory");
                if (type != FileType.REGULAR || how == CreateMode.EXCLUSIVE) {
                    throw new ExistException("file exists");
                }
                Dirent de = openDirent(fs, dirH.inode(), nameKey, existing);
                InodeRecord child = readInode(t, fs, de.inode());
                if (child == null) {
                    throw new StaleException("entry points at a missing inode");
                }
                if (child.type == FileType.DIRECTORY) {
                    throw new IsDirException("is a directory");
                }
                Entry found = new Entry(handle(fs, de.inode(), child), attrs(fs, de.inode(), child));
                recordReply(t, ctx, found);
                return found;
            }
            Access.check(dir, c, Access.W | Access.X, "create in directory");
            if (type == FileType.DIRECTORY && dir.nlink >= MAX_LINKS) {
                throw new TooManyLinksException("too many subdirectories");
            }
            long now = nanos();
            InodeRecord n = new InodeRecord();
            n.type = type;
            n.mode = mode & 07777;
            n.uid = c.uid();
            boolean setgidDir = (dir.mode & 02000) != 0;
            n.gid = setgidDir ? dir.gid : c.gid();
            if (type == FileType.DIRECTORY && setgidDir) {
                n.mode |= 02000;
            }
            if (type != FileType.DIRECTORY && (n.mode & 02000) != 0 && !c.isRoot() && !c.inGroup(n.gid)) {
                n.mode &= ~02000;
            }
            n.nlink = type == FileType.DIRECTORY ? 2 : 1;
            n.atime = n.mtime = n.ctime = n.btime = now;
            n.generation = random.nextInt();
            n.rdev = rdev;
            if (type == FileType.DIRECTORY) {
                n.parent = dirH.inode();
                n.nextCookie = FIRST_COOKIE;
                dir.nlink++;
            }
            if (type == FileType.REGULAR) {
                n.stored = 0;
            }
            if (type == FileType.SYMLINK) {
                n.target = target;
                n.size = target.getBytes(StandardCharsets.UTF_8).length;
                n.mode = 0777;
            }
            long cookie = dir.nextCookie++;
            touchDir(dir, now);
            writeInode(t, fs, newIno, n);
            writeInode(t, fs, dirH.inode(), dir);
            t.put(KeySpace.DIRENTS, dk, sealDirent(fs, dirH.inode(), nameKey, new Dirent(newIno, n.generation, cookie, type)));
            t.put(KeySpace.DIRCOOKIES, cookieKey(fs, dirH.inode(), cookie), nameKey);
            Entry made = new Entry(handle(fs, newIno, n), attrs(fs, newIno, n));
            recordReply(t, ctx, made);
            return made;
        });
        afterMutation();
        return e;
    }

    @Override
    public Entry create(OpContext ctx, FileHandle dir, String name, int mode, CreateMode how) throws IOException {
        return makeNode(ctx, dir, name, FileType.REGULAR, mode, 0, null, how);
    }

    @Override
    public Entry mkdir(OpContext ctx, FileHandle dir, String name, int mode) throws IOException {
        return makeNode(ctx, dir, name, FileType.DIRECTORY, mode, 0, null, CreateMode.EXCLUSIVE);
    }

    @Override
    public Entry symlink(OpContext ctx, FileHandle dir, String name, String target) throws IOException {
        if (target.isEmpty()) {
            throw new NoEntException("empty symlink target");
        }
        if (target.getBytes(StandardCharsets.UTF_8).length >= Protocol.MAX_PATH_BYTES) {
            throw new NameTooLongException("symlink target too long");
        }
        return makeNode(ctx, dir, name, FileType.SYMLINK, 0777, 0, target, CreateMode.EXCLUSIVE);
    }

    @Override
    public Entry mknod(OpContext ctx, FileHandle dir, String name, FileType type, int mode, long rdev)
            throws IOException {
        switch (type) {
            case FIFO, SOCKET -> rdev = 0;
            case CHAR_DEVICE, BLOCK_DEVICE -> {
                if (!ctx.credentials().isRoot()) {
                    throw new PermException("only root may create device nodes");
                }
            }
            case REGULAR -> {
                return makeNode(ctx, dir, name, FileType.REGULAR, mode, 0, null, CreateMode.EXCLUSIVE);
            }
            default -> throw new InvalException("mknod cannot make a " + type);
        }
        return makeNode(ctx, dir, name, type, mode, rdev, null, CreateMode.EXCLUSIVE);
    }

    @Override
    public Entry link(OpContext ctx, FileHandle target, FileHandle dirH, String name) throws IOException {
        validateNewName(name);
        if (target.fsId() != dirH.fsId()) {
            throw new io.coffer.core.status.XdevException("cross-file-system link");
        }
        Fs fs = fs(dirH.fsId());
        byte[] nameKey = fs.cipher.nameKey(NameDomain.DIRENT, dirH.inode(), name);
        Entry e = meta.write(t -> {
            InodeRecord dir = lockedInode(t, fs, dirH);
            requireDir(dir);
            if (dir.nlink == 0) {
                throw new NoEntException("directory was removed");
            }
            Access.check(dir, ctx.credentials(), Access.W | Access.X, "link into directory");
            InodeRecord tr = lockedInode(t, fs, target);
            if (tr.type == FileType.DIRECTORY) {
                throw new PermException("hard links to directories are not allowed");
            }
            if (tr.nlink >= MAX_LINKS) {
                throw new TooManyLinksException("too many links");
            }
            if (tr.nlink == 0) {
                throw new NoEntException("file was removed");
            }
            byte[] dk = direntKey(fs, dirH.inode(), nameKey);
            if (t.getForUpdate(KeySpace.DIRENTS, dk) != null) {
                throw new ExistException("file exists");
            }
            long now = nanos();
            tr.nlink++;
            tr.ctime = now;
            tr.change++;
            long cookie = dir.nextCookie++;
            touchDir(dir, now);
            writeInode(t, fs, target.inode(), tr);
            writeInode(t, fs, dirH.inode(), dir);
            t.put(KeySpace.DIRENTS, dk, sealDirent(fs, dirH.inode(), nameKey, new Dirent(target.inode(), tr.generation, cookie, tr.type)));
            t.put(KeySpace.DIRCOOKIES, cookieKey(fs, dirH.inode(), cookie), nameKey);
            Entry made = new Entry(target, attrs(fs, target.inode(), tr));
            recordReply(t, ctx, made);
            return made;
        });
        afterMutation();
        return e;
    }

    /** Drops one link of {@code ino}; deletes the inode (and schedules its data) at zero. */
    private void unlinkInode(MetaTxn t, Fs fs, long ino, InodeRecord rec, long now) throws IOException {
        if (rec.type == FileType.DIRECTORY) {
            rec.nlink = 0;
        } else {
            rec.nlink--;
        }
        if (rec.nlink <= 0) {
            t.delete(KeySpace.INODES, Keys.fsIno(fs.id, ino));
            if (rec.type == FileType.REGULAR && rec.size > fs.chunkSize) {
                t.put(KeySpace.ORPHANS, Keys.fsIno(fs.id, ino), new byte[0]);
                t.afterCommit(() -> reclaimer.submit(() -> reclaim(fs.id, ino)));
            } else if (rec.type == FileType.REGULAR && rec.size > 0) {
                // A file of one chunk (most files) goes in this transaction: queueing it for the
                // reclaimer cost two more transactions and a scan per removed file. Writes and
                // truncations keep no chunk at or past the size, so an empty file has none.
                byte[] k = Keys.fsInoLong(fs.id, ino, 0);
                byte[] v = t.getForUpdate(KeySpace.CHUNKS, k);
                if (v != null) {
                    t.delete(KeySpace.CHUNKS, k);
                    releaseLater(t, v);
                }
            }
            // Almost no file has an xattr or a lock: these two scans were ~3% of the server's CPU
            // in an rm -rf, so they run only when the record says there may be some.
            if (rec.mayHaveExtras) {
                List<byte[]> xattrKeys = new ArrayList<>();
                t.scan(KeySpace.XATTRS, Keys.fsIno(fs.id, ino), null, (k, v) -> {
                    xattrKeys.add(k);
                    return true;
                });
                for (byte[] k : xattrKeys) {
                    t.delete(KeySpace.XATTRS, k);
                }
                locks.dropAll(t, fs.id, ino);
            }
        } else {
            rec.ctime = now;
            rec.change++;
            writeInode(t, fs, ino, rec);
        }
    }

    private void removeEntry(OpContext ctx, FileHandle dirH, String name, boolean wantDir) throws IOException {
        if (name.equals(".")) {
            throw new InvalException("cannot remove '.'");
        }
        if (name.equals("..")) {
            throw new NotEmptyException("cannot remove '..'");
        }
        validateName(name);
        Fs fs = fs(dirH.fsId());
        byte[] nameKey = fs.cipher.nameKey(NameDomain.DIRENT, dirH.inode(), name);
        meta.write(t -> {
            InodeRecord dir = lockedInode(t, fs, dirH);
            requireDir(dir);
            byte[] dk = direntKey(fs, dirH.inode(), nameKey);
            byte[] d = t.getForUpdate(KeySpace.DIRENTS, dk);
            if (d == null) {
                Access.check(dir, ctx.credentials(), Access.X, "search directory");
                throw new NoEntException("no such entry");
            }
            Access.check(dir, ctx.credentials(), Access.W | Access.X, "remove from directory");
            Dirent de = openDirent(fs, dirH.inode(), nameKey, d);
            InodeRecord child = lockInode(t, fs, de.inode());
            if (child == null) {
                throw new StaleException("entry points at a missing inode");
            }
            if (wantDir) {
                if (child.type != FileType.DIRECTORY) {
                    throw new NotDirException("not a directory");
                }
                if (!isEmptyDir(t, fs, de.inode())) {
                    throw new NotEmptyException("directory not empty");
                }
            } else if (child.type == FileType.DIRECTORY) {
                throw new IsDirException("is a directory");
            }
            Access.checkSticky(dir, child, ctx.credentials());
            long now = nanos();
            t.delete(KeySpace.DIRENTS, dk);
            t.delete(KeySpace.DIRCOOKIES, cookieKey(fs, dirH.inode(), de.cookie()));
            if (wantDir) {
                dir.nlink--;
            }
            touchDir(dir, now);
            writeInode(t, fs, dirH.inode(), dir);
            unlinkInode(t, fs, de.inode(), child, now);
            recordReply(t, ctx, Boolean.TRUE);
            return null;
        });
        afterMutation();
    }

    private boolean isEmptyDir(MetaReader r, Fs fs, long dir) throws IOException {
        boolean[] any = {false};
        r.scan(KeySpace.DIRCOOKIES, Keys.fsIno(fs.id, dir), null, (k, v) -> {
            any[0] = true;
            return false;
        });
        return !any[0];
    }

    @Override
    public void remove(OpContext ctx, FileHandle dir, String name) throws IOException {
        removeEntry(ctx, dir, name, false);
    }

    @Override
    public void rmdir(OpContext ctx, FileHandle dir, String name) throws IOException {
        removeEntry(ctx, dir, name, true);
    }

    @Override
    public void rename(OpContext ctx, FileHandle fromH, String fromName, FileHandle toH, String toName)
            throws IOException {
        if (fromName.equals(".") || fromName.equals("..")) {
            throw new InvalException("cannot rename '" + fromName + "'");
        }
        if (toName.equals(".") || toName.equals("..")) {
            throw new InvalException("cannot rename onto '" + toName + "'");
        }
        validateName(fromName);
        validateName(toName);
        if (fromH.fsId() != toH.fsId()) {
            throw new io.coffer.core.status.XdevException("cross-file-system rename");
        }
        Fs fs = fs(fromH.fsId());
        Credentials c = ctx.credentials();
        byte[] fromKey = fs.cipher.nameKey(NameDomain.DIRENT, fromH.inode(), fromName);
        byte[] toKey = fs.cipher.nameKey(NameDomain.DIRENT, toH.inode(), toName);
        boolean sameDir = fromH.inode() == toH.inode();
        meta.write(t -> {
            InodeRecord fromDir = lockedInode(t, fs, fromH);
            InodeRecord toDir = sameDir ? fromDir : lockedInode(t, fs, toH);
            requireDir(fromDir);
            requireDir(toDir);
            byte[] fdk = direntKey(fs, fromH.inode(), fromKey);
            byte[] tdk = direntKey(fs, toH.inode(), toKey);
            byte[] fd = t.getForUpdate(KeySpace.DIRENTS, fdk);
            if (fd == null) {
                throw new NoEntException("no such entry");
            }
            Access.check(fromDir, c, Access.W | Access.X, "rename from directory");
            Access.check(toDir, c, Access.W | Access.X, "rename into directory");
            Dirent src = openDirent(fs, fromH.inode(), fromKey, fd);
            InodeRecord srcRec = lockInode(t, fs, src.inode());
            if (srcRec == null) {
                throw new StaleException("entry points at a missing inode");
            }
            Access.checkSticky(fromDir, srcRec, c);
            boolean srcIsDir = srcRec.type == FileType.DIRECTORY;
            byte[] td = Arrays.equals(fdk, tdk) ? fd : t.getForUpdate(KeySpace.DIRENTS, tdk);
            Dirent dst = td == null ? null : openDirent(fs, toH.inode(), toKey, td);
            if (dst != null && dst.inode() == src.inode()) {
                // Two names of one file (or the same name): rename(2) does nothing and succeeds.
                recordReply(t, ctx, Boolean.TRUE);
                return null;
            }
            if (srcIsDir && !sameDir) {
                // Serialize directory moves across directories so two of them cannot build a cycle.
                t.getForUpdate(KeySpace.COUNTERS, ("rename:" + fs.id).getBytes(StandardCharsets.UTF_8));
                if (srcIsDir && (srcRec.mode & 0200) == 0 && !c.isRoot() && !Access.allowed(srcRec, c, Access.W)) {
                    throw new AccessException("cannot move a directory you cannot write (its '..' changes)");
                }
                long p = toH.inode();
                while (true) {
                    if (p == src.inode()) {
                        throw new InvalException("cannot move a directory into itself");
                    }
                    if (p == ROOT_INODE) {
                        break;
                    }
                    InodeRecord pr = readInode(t, fs, p);
                    if (pr == null) {
                        throw new StaleException("target directory is gone");
                    }
                    p = pr.parent;
                }
            }
            long now = nanos();
            InodeRecord dstRec = null;
            if (dst != null) {
                dstRec = lockInode(t, fs, dst.inode());
                if (dstRec == null) {
                    throw new StaleException("target entry points at a missing inode");
                }
                Access.checkSticky(toDir, dstRec, c);
                boolean dstIsDir = dstRec.type == FileType.DIRECTORY;
                if (srcIsDir && !dstIsDir) {
                    throw new NotDirException("cannot replace a non-directory with a directory");
                }
                if (!srcIsDir && dstIsDir) {
                    throw new IsDirException("cannot replace a directory with a non-directory");
                }
                if (dstIsDir && !isEmptyDir(t, fs, dst.inode())) {
                    throw new NotEmptyException("target directory not empty");
                }
                t.delete(KeySpace.DIRCOOKIES, cookieKey(fs, toH.inode(), dst.cookie()));
                if (dstIsDir) {
                    toDir.nlink--;
                }
            } else if (srcIsDir && !sameDir && toDir.nlink >= MAX_LINKS) {
                throw new TooManyLinksException("too many subdirectories");
            }
            t.delete(KeySpace.DIRENTS, fdk);
            t.delete(KeySpace.DIRCOOKIES, cookieKey(fs, fromH.inode(), src.cookie()));
            long cookie = toDir.nextCookie++;
            t.put(KeySpace.DIRENTS, tdk, sealDirent(fs, toH.inode(), toKey, new Dirent(src.inode(), src.generation(), cookie, src.type())));
            t.put(KeySpace.DIRCOOKIES, cookieKey(fs, toH.inode(), cookie), toKey);
            if (srcIsDir && !sameDir) {
                fromDir.nlink--;
                toDir.nlink++;
                srcRec.parent = toH.inode();
            }
            srcRec.ctime = now;
            srcRec.change++;
            writeInode(t, fs, src.inode(), srcRec);
            touchDir(fromDir, now);
            writeInode(t, fs, fromH.inode(), fromDir);
            if (!sameDir) {
                touchDir(toDir, now);
                writeInode(t, fs, toH.inode(), toDir);
            }
            if (dst != null) {
                unlinkInode(t, fs, dst.inode(), dstRec, now);
            }
            recordReply(t, ctx, Boolean.TRUE);
            return null;
        });
        afterMutation();
    }

    @Override
    public DirListing readdir(OpContext ctx, FileHandle dirH, long cookie, int maxEntries) throws IOException {
        Fs fs = fs(dirH.fsId());
        int max = Math.max(1, Math.min(maxEntries, Protocol.MAX_READDIR_ENTRIES));
        return meta.read(r -> {
            InodeRecord dir = inode(r, fs, dirH);
            requireDir(dir);
            Access.check(dir, ctx.credentials(), Access.R, "read directory");
            List<DirEntry> out = new ArrayList<>();
            boolean[] more = {false};
            byte[] prefix = Keys.fsIno(fs.id, dirH.inode());
            byte[] startAfter = cookie > 0 ? cookieKey(fs, dirH.inode(), cookie) : null;
            List<IOException> errors = new ArrayList<>();
            r.scan(KeySpace.DIRCOOKIES, prefix, startAfter, (k, nameKey) -> {
                if (out.size() >= max) {
                    more[0] = true;
                    return false;
                }
                long ck = Keys.longAt(k, 12);
                byte[] d = r.get(KeySpace.DIRENTS, direntKey(fs, dirH.inode(), nameKey));
                if (d == null) {
                    return true;
                }
                Dirent de = openDirent(fs, dirH.inode(), nameKey, d);
                InodeRecord child = readInode(r, fs, de.inode());
                if (child == null) {
                    return true;
                }
                String name = fs.cipher.name(NameDomain.DIRENT, dirH.inode(), nameKey);
                out.add(new DirEntry(name, ck, handle(fs, de.inode(), child), attrs(fs, de.inode(), child)));
                return true;
            });
            if (!errors.isEmpty()) {
                throw errors.get(0);
            }
            return new DirListing(out, !more[0]);
        });
    }

    @Override
    public FsStats fsstat(OpContext ctx, FileHandle h) throws IOException {
        fs(h.fsId());
        FileStore store = Files.getFileStore(dataDir);
        long total = store.getTotalSpace();
        long free = store.getUnallocatedSpace();
        long avail = store.getUsableSpace();
        long files = 1L << 32;
        return new FsStats(total, free, avail, files, files - 1, 4096, Protocol.MAX_NAME_BYTES);
    }

    // ------------------------------------------------------------------ attributes

    @Override
    public FileAttributes setattr(OpContext ctx, FileHandle h, SetAttributes s) throws IOException {
        Fs fs = fs(h.fsId());
        Credentials c = ctx.credentials();
        if (s.size() != null) {
            return truncate(ctx, fs, h, s);
        }
        FileAttributes a = meta.write(t -> {
            InodeRecord r = lockedInode(t, fs, h);
            applyAttrs(r, s, c, true);
            if ((s.uid() != null || s.gid() != null) && r.type != FileType.DIRECTORY) {
                dropCapabilities(t, fs, h.inode(), r);
            }
            writeInode(t, fs, h.inode(), r);
            FileAttributes result = attrs(fs, h.inode(), r);
            recordReply(t, ctx, result);
            return result;
        });
        afterMutation();
        return a;
    }

    /**
     * A write, truncate or change of owner removes the file's capabilities, as Linux does. Clients
     * mount with FUSE_HANDLE_KILLPRIV_V2 and so leave this to the server, whatever any kernel
     * remembers (set-user-ID and set-group-ID are cleared with the mode, see applyAttrs and write).
     */
    /** Removes the inode's file capabilities, if it may have any; the caller writes {@code rec} back. */
    private void dropCapabilities(MetaTxn t, Fs fs, long ino, InodeRecord rec) throws IOException {
        if (!rec.mayHaveCapability) {
            return;
        }
        byte[] k = Keys.fsInoBytes(fs.id, ino, fs.cipher.nameKey(NameDomain.XATTR, ino, SECURITY_CAPABILITY));
        if (t.get(KeySpace.XATTRS, k) != null) {
            t.delete(KeySpace.XATTRS, k);
        }
        rec.mayHaveCapability = false;
    }

    private static final String SECURITY_CAPABILITY = "security.capability";

    /** Applies mode, owner and time changes (not size) with chmod/chown/utimensat's rules. */
    private void applyAttrs(InodeRecord r, SetAttributes s, Credentials c, boolean bumpCtime) throws IOException {
        long now = nanos();
        boolean owner = Access.isOwnerOrRoot(r, c);
        if (s.uid() != null || s.gid() != null) {
            int newUid = s.uid() != null ? s.uid() : r.uid;
            int newGid = s.gid() != null ? s.gid() : r.gid;
            if (!c.isRoot()) {
                if (newUid != r.uid) {
                    throw new PermException("only root may change the owner");
                }
                if (newGid != r.gid && (c.uid() != r.uid || !c.inGroup(newGid))) {
                    throw new PermException("may only change the group to one of your groups, of a file you own");
                }
            }
            if (r.type != FileType.DIRECTORY && (newUid != r.uid || newGid != r.gid || !c.isRoot())) {
                // chown clears set-user-ID, and set-group-ID when group execution is on, as Linux does.
                r.mode &= ~04000;
                if ((r.mode & 010) != 0) {
                    r.mode &= ~02000;
                }
            }
            r.uid = newUid;
            r.gid = newGid;
        }
        if (s.mode() != null) {
            if (!owner) {
                throw new PermException("only the owner may change the mode");
            }
            int m = s.mode() & 07777;
            if (!c.isRoot() && r.type != FileType.DIRECTORY && (m & 02000) != 0 && !c.inGroup(r.gid)) {
                m &= ~02000;
            }
            r.mode = m;
        }
        if (s.changesTimes()) {
            boolean explicit = s.atimeNanos() != null || s.mtimeNanos() != null;
            if (explicit && !owner) {
                throw new PermException("only the owner may set times explicitly");
            }
            if (!explicit && !owner && !Access.allowed(r, c, Access.W)) {
                throw new AccessException("need write permission to set times to now");
            }
            if (s.atimeNow()) {
                r.atime = now;
            } else if (s.atimeNanos() != null) {
                r.atime = s.atimeNanos();
            }
            if (s.mtimeNow()) {
                r.mtime = now;
            } else if (s.mtimeNanos() != null) {
                r.mtime = s.mtimeNanos();
            }
        }
        if (bumpCtime) {
            r.ctime = now;
        }
        r.change++;
    }

    private FileAttributes truncate(OpContext ctx, Fs fs, FileHandle h, SetAttributes s) throws IOException {
        long newSize = s.size();
        if (newSize < 0) {
            throw new InvalException("negative size");
        }
        if (newSize > MAX_FILE_SIZE) {
            throw new FileTooBigException("file too large");
        }
        ReentrantLock lock = dataLock(fs.id, h.inode());
        acquire(lock);
        try {
            InodeRecord cur = meta.read(r -> inode(r, fs, h));
            if (cur.type == FileType.DIRECTORY) {
                throw new IsDirException("is a directory");
            }
            if (cur.type != FileType.REGULAR) {
                throw new InvalException("not a regular file");
            }
            // The owner may truncate without write permission, as NFS servers let it: the kernel
            // already checked a truncate(2) by name, and an ftruncate(2) on a descriptor opened for
            // writing must work after the mode dropped write (as WRITEs do), which only the owner
            // can have done. The owner could restore the bit anyway.
            if (!Access.allowed(cur, ctx.credentials(), Access.W) && !Access.isOwnerOrRoot(cur, ctx.credentials())) {
                throw new AccessException("need write permission to truncate");
            }
            int cs = fs.chunkSize;
            long keepChunks = (newSize + cs - 1) / cs;
            int tail = (int) (newSize % cs);
            // The chunk that will hold the new end is cut to it, so that growing the file later reads zeros there.
            SealedChunk rewritten = null;
            int tailCut = 0;
            long tailIndex = newSize / cs;
            if (tail != 0 && newSize < cur.size) {
                ChunkRef ref = meta.read(r -> {
                    byte[] v = r.get(KeySpace.CHUNKS, Keys.fsInoLong(fs.id, h.inode(), tailIndex));
                    return v == null ? null : ChunkRef.decode(fs.cipher, h.inode(), tailIndex, v);
                });
                if (ref != null && ref.plainLength() > tail) {
                    tailCut = ref.plainLength() - tail;
                    ByteBuffer plain = readChunk(fs, h.inode(), tailIndex, ref);
                    plain.limit(tail);
                    ChunkKey key = new ChunkKey(fs.id, h.inode(), tailIndex, nextVersion(fs));
                    rewritten = new SealedChunk(key, fs.cipher.sealChunk(key, plain));
                }
            }
            boolean tailInline = rewritten != null && tailIndex == 0 && tail <= INLINE_MAX;
            byte[] newLoc = rewritten == null || tailInline ? null : chunks.append(List.of(rewritten)).get(0);
            byte[] tailSealed = tailInline ? toArray(rewritten.payload()) : null;
            SealedChunk rw = rewritten;
            int cut = tailCut;
            List<byte[][]> dropped = new ArrayList<>();
            meta.read(r -> {
                r.scan(KeySpace.CHUNKS, Keys.fsIno(fs.id, h.inode()),
                        keepChunks > 0 ? Keys.fsInoLong(fs.id, h.inode(), keepChunks - 1) : null, (k, v) -> {
                            dropped.add(new byte[][] {k, v});
                            return true;
                        });
                return null;
            });
            FileAttributes a = meta.write(t -> {
                InodeRecord r = lockedInode(t, fs, h);
                long freed = cut;
                for (byte[][] kv : dropped) {
                    byte[] curRef = t.getForUpdate(KeySpace.CHUNKS, kv[0]);
                    if (curRef != null) {
                        if (r.stored > 0 && newSize > 0) {
                            freed += ChunkRef.decode(fs.cipher, h.inode(), Keys.longAt(kv[0], 12), curRef).plainLength();
                        }
                        t.delete(KeySpace.CHUNKS, kv[0]);
                        releaseLater(t, curRef);
                    }
                }
                if (r.stored >= 0) {
                    // Nothing is stored past the new size (and a file cut to nothing stores nothing).
                    r.stored = newSize == 0 ? 0 : Math.max(0, r.stored - freed);
                }
                if (rw != null) {
                    byte[] k = Keys.fsInoLong(fs.id, h.inode(), tailIndex);
                    byte[] old = t.getForUpdate(KeySpace.CHUNKS, k);
                    t.put(KeySpace.CHUNKS, k, (tailSealed != null ? ChunkRef.inlined(rw.key().version(), tail, tailSealed)
                            : ChunkRef.stored(rw.key().version(), tail, newLoc)).encode(fs.cipher, h.inode(), tailIndex));
                    if (old != null) {
                        releaseLater(t, old);
                    }
                }
                long now = nanos();
                if (r.size != newSize) {
                    r.mtime = now;
                }
                r.size = newSize;
                if (!ctx.credentials().isRoot()) {
                    r.mode &= ~04000;
                    if ((r.mode & 010) != 0) {
                        r.mode &= ~02000;
                    }
                }
                applyAttrs(r, new SetAttributes(s.mode(), s.uid(), s.gid(), null, s.atimeNanos(), s.atimeNow(),
                        s.mtimeNanos(), s.mtimeNow()), ctx.credentials(), true);
                dropCapabilities(t, fs, h.inode(), r);
                writeInode(t, fs, h.inode(), r);
                FileAttributes result = attrs(fs, h.inode(), r);
                recordReply(t, ctx, result);
                return result;
            });
            afterMutation();
            return a;
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ data

    private ByteBuffer readChunk(Fs fs, long ino, long index, ChunkRef ref) throws IOException {
        ByteBuffer out = ByteBuffer.allocate(ref.plainLength());
        readChunkInto(fs, ino, index, ref, out, 0, ref.plainLength());
        return out;
    }

    /**
     * The plaintext of a stored chunk for a READ that wants only {@code [from, to)} of it, in a
     * per-thread array instead of a new one per call: those bytes are exact, the rest of the
     * first {@code ref.plainLength()} bytes may be stale (patches elsewhere are not applied).
     */
    private ByteBuffer readChunkTransient(Fs fs, long ino, long index, ChunkRef ref, int from, int to) throws IOException {
        ByteBuffer out = plainScratch(ref.plainLength());
        readChunkInto(fs, ino, index, ref, out, from, to);
        return out;
    }

    /** This thread's plaintext array, as a buffer of {@code n} bytes. */
    private static ByteBuffer plainScratch(int n) {
        byte[] b = PLAIN_SCRATCH.get();
        if (b.length < n) {
            b = new byte[n];
            PLAIN_SCRATCH.set(b);
        }
        return ByteBuffer.wrap(b, 0, n);
    }

    /** Chunks a READ reads with one read of the chunk store when there are at least this many. */
    static final int RUN_MIN_CHUNKS = 4;

    /**
     * The sealed records of a READ's chunks read in one go, when there are several, all stored
     * whole in the chunk store (none inline or patched) and the store can (see
     * {@link ChunkStore#readRun}); else null.
     */
    private ChunkStore.Run readRun(Fs fs, long ino, long first, ChunkRef[] refs) throws IOException {
        // Not on an event loop (a small READ of a file system with small chunks): a direct read
        // first writes back any dirty pages of its range, which an event loop must not wait for.
        if (refs.length < RUN_MIN_CHUNKS || NO_WAIT.get() != null) {
            return null;
        }
        List<ChunkKey> keys = new ArrayList<>(refs.length);
        List<byte[]> locators = new ArrayList<>(refs.length);
        for (int i = 0; i < refs.length; i++) {
            ChunkRef r = refs[i];
            if (r == null || r.locator() == null || r.patched() || r.baseLength() != r.plainLength()) {
                return null;
            }
            keys.add(new ChunkKey(fs.id, ino, first + i, r.version()));
            locators.add(r.locator());
        }
        return chunks.readRun(keys, locators);
    }

    private static final ThreadLocal<byte[]> PLAIN_SCRATCH = ThreadLocal.withInitial(() -> new byte[0]);

    /**
     * Decrypts the base and the patches that overlap {@code [from, to)} into {@code out[0,
     * plainLength)}, which need not be zeroed; only {@code [from, to)} is then the chunk's content.
     * The base is one authenticated record and is always opened whole. A patch elsewhere in the
     * chunk is its own record, bound to its place by the reference, so a small READ skips it: under
     * random 4 KiB writes a chunk carries up to 8 patches, and reading each was ~9% of the server's
     * CPU during random I/O (docs/performance.md, evening of 2026-12-07). A damaged patch still
     * fails every read that overlaps it.
     */
    private void readChunkInto(Fs fs, long ino, long index, ChunkRef ref, ByteBuffer out, int from, int to) throws IOException {
        openRecord(fs, ino, index, ref.version(), sealedOf(new ChunkKey(fs.id, ino, index, ref.version()), ref),
                out.duplicate().position(0).limit(ref.baseLength()));
        // Bytes beyond the base that no patch covers read as zero, as in a sparse file.
        if (ref.plainLength() > ref.baseLength()) {
            java.util.Arrays.fill(out.array(), out.arrayOffset() + ref.baseLength(), out.arrayOffset() + ref.plainLength(),
                    (byte) 0);
        }
        // Patches are applied in the order written, so where they overlap the newest bytes win.
        for (ChunkRef.Patch p : ref.patches()) {
            if (p.end() <= from || p.offset() >= to) {
                continue;
            }
            ChunkKey pk = new ChunkKey(fs.id, ino, index, p.version());
            openRecord(fs, ino, index, p.version(), chunks.readTransient(pk, p.locator()),
                    out.duplicate().position(p.offset()).limit(p.end()));
        }
    }

    /** Decrypts one stored record into exactly the remaining space of {@code target}. */
    private void openRecord(Fs fs, long ino, long index, long version, ByteBuffer sealed, ByteBuffer target) throws IOException {
        int want = target.remaining();
        if (sealed.remaining() != want + fs.cipher.chunkOverhead()) {
            log.error("chunk of fs-{} inode {} index {} version {} has {} bytes, its reference says {}",
                    String.format("%08x", fs.id), ino, index, version, sealed.remaining(), want + fs.cipher.chunkOverhead());
            throw new IoException(String.format("chunk of fs-%08x inode %d index %d has the wrong length", fs.id, ino, index));
        }
        int start = target.position();
        fs.cipher.openChunk(new ChunkKey(fs.id, ino, index, version), sealed, target);
        if (target.position() - start != want) {
            throw new IoException(String.format("chunk of fs-%08x inode %d index %d decrypted to a wrong length", fs.id, ino, index));
        }
    }

    private ChunkRef[] chunkRefs(MetaReader r, Fs fs, long ino, long first, long last) throws IOException {
        ChunkRef[] refs = new ChunkRef[(int) (last - first + 1)];
        if (first == last) {
            // A small read or write touches one chunk: a point lookup costs a fraction of an
            // iterator's creation and seek (random 4 KiB I/O spent ~15% of the server here).
            byte[] v = r.get(KeySpace.CHUNKS, Keys.fsInoLong(fs.id, ino, first));
            refs[0] = v == null ? null : ChunkRef.decode(fs.cipher, ino, first, v);
            return refs;
        }
        byte[] prefix = Keys.fsIno(fs.id, ino);
        r.scan(KeySpace.CHUNKS, prefix, first > 0 ? Keys.fsInoLong(fs.id, ino, first - 1) : null, (k, v) -> {
            long idx = Keys.longAt(k, 12);
            if (idx > last) {
                return false;
            }
            if (idx >= first) {
                refs[(int) (idx - first)] = ChunkRef.decode(fs.cipher, ino, idx, v);
            }
            return true;
        });
        return refs;
    }

    private record ReadPlan(InodeRecord inode, ChunkRef[] refs, long first) {
    }

    @Override
    public ReadResult read(OpContext ctx, FileHandle h, long offset, int count) throws IOException {
        Fs fs = fs(h.fsId());
        int cs = fs.chunkSize;
        ReadPlan plan = meta.read(r -> {
            InodeRecord rec = inode(r, fs, h);
            if (rec.type == FileType.DIRECTORY) {
                throw new IsDirException("is a directory");
            }
            if (rec.type != FileType.REGULAR) {
                throw new InvalException("not a regular file");
            }
            if (offset >= rec.size || count == 0) {
                return new ReadPlan(rec, null, 0);
            }
            long n = Math.min(count, rec.size - offset);
            long first = offset / cs;
            long last = (offset + n - 1) / cs;
            return new ReadPlan(rec, chunkRefs(r, fs, h.inode(), first, last), first);
        });
        InodeRecord rec = plan.inode();
        FileAttributes a = attrs(fs, h.inode(), rec);
        if (plan.refs() == null) {
            return new ReadResult(ByteBufAllocator.DEFAULT.buffer(0), true, a);
        }
        int n = (int) Math.min(count, rec.size - offset);
        ByteBuf out = PooledByteBufAllocator.DEFAULT.directBuffer(n);
        ChunkStore.Run run = null;
        try {
            run = readRun(fs, h.inode(), plan.first(), plan.refs());
            long pos = offset;
            long end = offset + n;
            for (int i = 0; i < plan.refs().length; i++) {
                long idx = plan.first() + i;
                long chunkStart = idx * cs;
                int from = (int) (Math.max(pos, chunkStart) - chunkStart);
                int to = (int) (Math.min(end, chunkStart + cs) - chunkStart);
                ChunkRef ref = plan.refs()[i];
                if (ref == null) {
                    out.writeZero(to - from);
                    continue;
                }
                int have = Math.min(to, ref.plainLength());
                ByteBuffer sealed = run != null ? run.payloads().get(i) : null;
                if (from == 0 && have == ref.plainLength() && !ref.patched()) {
                    // Whole stored chunk wanted: decrypt straight into the reply buffer.
                    ChunkKey key = new ChunkKey(fs.id, h.inode(), idx, ref.version());
                    openRecord(fs, h.inode(), idx, ref.version(), sealed != null ? sealed : sealedOf(key, ref),
                            out.nioBuffer(out.writerIndex(), ref.plainLength()));
                    out.writerIndex(out.writerIndex() + ref.plainLength());
                } else if (from < have) {
                    ByteBuffer plain;
                    if (sealed != null) {
                        plain = plainScratch(ref.plainLength());
                        openRecord(fs, h.inode(), idx, ref.version(), sealed, plain.duplicate());
                    } else {
                        plain = readChunkTransient(fs, h.inode(), idx, ref, from, have);
                    }
                    plain.position(from).limit(have);
                    out.writeBytes(plain);
                }
                int written = Math.max(0, have - from);
                if (to - from > written) {
                    out.writeZero(to - from - written);
                }
                pos = chunkStart + to;
            }
            return new ReadResult(out, offset + n >= rec.size, a);
        } catch (IOException | RuntimeException e) {
            out.release();
            throw e;
        } finally {
            if (run != null) {
                run.close();
            }
        }
    }

    @Override
    public WriteResult write(OpContext ctx, FileHandle h, long offset, ByteBuf data, boolean stable) throws IOException {
        return write(ctx, h, offset, data, stable, null);
    }

    /** The write and the attribute change in one metadata transaction: both happen or neither. */
    @Override
    public WriteResult writeThenSetattr(OpContext ctx, FileHandle h, long offset, ByteBuf data, boolean stable,
            SetAttributes change) throws IOException {
        if (change.size() != null) {
            throw new InvalException("a write's attribute change cannot set the size");
        }
        return write(ctx, h, offset, data, stable, change);
    }

    private WriteResult write(OpContext ctx, FileHandle h, long offset, ByteBuf data, boolean stable,
            SetAttributes change) throws IOException {
        Fs fs = fs(h.fsId());
        int n = data.readableBytes();
        if (offset < 0) {
            throw new InvalException("negative offset");
        }
        if (offset + n > MAX_FILE_SIZE) {
            throw new FileTooBigException("file too large");
        }
        int cs = fs.chunkSize;
        ReentrantLock lock = dataLock(fs.id, h.inode());
        byte[] arena = null;
        acquire(lock);
        try {
            if (n == 0) {
                if (change != null) {
                    FileAttributes a = setattr(ctx, h, change);
                    if (stable) {
                        groupSync.sync();
                    }
                    return new WriteResult(0, true, verifier, a);
                }
                return new WriteResult(0, true, verifier, getattr(ctx, h));
            }
            long first = offset / cs;
            long last = (offset + n - 1) / cs;
            ReadPlan plan = meta.read(r -> {
                InodeRecord rec = inode(r, fs, h);
                if (rec.type == FileType.DIRECTORY) {
                    throw new IsDirException("is a directory");
                }
                if (rec.type != FileType.REGULAR) {
                    throw new InvalException("not a regular file");
                }
                // Writes and truncations keep no chunk at or past the size: an append past the
                // last chunk has nothing to look up (a 1 MiB append scanned for 16 absent chunks).
                long lastStored = rec.size == 0 ? -1 : (rec.size - 1) / cs;
                ChunkRef[] refs = new ChunkRef[(int) (last - first + 1)];
                if (first <= lastStored) {
                    ChunkRef[] stored = chunkRefs(r, fs, h.inode(), first, Math.min(last, lastStored));
                    System.arraycopy(stored, 0, refs, 0, stored.length);
                }
                return new ReadPlan(rec, refs, first);
            });
            List<SealedChunk> sealed = new ArrayList<>(plan.refs().length);
            int overhead = fs.cipher.chunkOverhead();
            arena = takeSealArena(plan.refs().length * (cs + overhead));
            int arenaUsed = 0;
            int[] plainLens = new int[plan.refs().length];
            // Chunks whose new bytes are stored as a patch, and where in the chunk they start.
            boolean[] patch = new boolean[plan.refs().length];
            int[] patchAt = new int[plan.refs().length];
            int consumed = 0;
            for (int i = 0; i < plan.refs().length; i++) {
                long idx = first + i;
                long chunkStart = idx * cs;
                int from = (int) (Math.max(offset, chunkStart) - chunkStart);
                int to = (int) (Math.min(offset + n, chunkStart + cs) - chunkStart);
                ChunkRef old = plan.refs()[i];
                ByteBuffer plain;
                if (from == 0 && (old == null || to >= old.plainLength())) {
                    // The new bytes cover everything stored in this chunk: no need to read it.
                    plain = data.nioBuffer(data.readerIndex() + consumed, to - from);
                } else if (old != null && old.canPatch(to - from)) {
                    plain = data.nioBuffer(data.readerIndex() + consumed, to - from);
                    patch[i] = true;
                    patchAt[i] = from;
                } else {
                    int len = Math.max(to, old == null ? 0 : old.plainLength());
                    ByteBuffer merged = ByteBuffer.allocate(len);
                    if (old != null) {
                        merged.put(readChunk(fs, h.inode(), idx, old));
                    }
                    merged.position(from);
                    merged.put(data.nioBuffer(data.readerIndex() + consumed, to - from));
                    merged.position(0).limit(len);
                    plain = merged;
                }
                plainLens[i] = plain.remaining();
                consumed += to - from;
                ChunkKey key = new ChunkKey(fs.id, h.inode(), idx, nextVersion(fs));
                int sealedLen = plainLens[i] + overhead;
                ByteBuffer out = arena != null ? ByteBuffer.wrap(arena, arenaUsed, sealedLen).slice()
                        : ByteBuffer.allocate(sealedLen);
                arenaUsed += sealedLen;
                fs.cipher.sealChunk(key, plain, out);
                sealed.add(new SealedChunk(key, out.flip()));
            }
            // A file whose only chunk is small keeps it in its metadata: see INLINE_MAX.
            boolean[] inline = new boolean[sealed.size()];
            List<SealedChunk> toStore = new ArrayList<>(sealed.size());
            for (int i = 0; i < sealed.size(); i++) {
                inline[i] = !patch[i] && sealed.get(i).key().index() == 0 && plainLens[i] <= INLINE_MAX && sealed.size() == 1
                        && plan.inode().size <= INLINE_MAX;
                if (!inline[i]) {
                    toStore.add(sealed.get(i));
                }
            }
            List<byte[]> stored = toStore.isEmpty() ? List.of() : chunks.append(toStore);
            List<byte[]> locs = new ArrayList<>(sealed.size());
            int next = 0;
            for (int i = 0; i < sealed.size(); i++) {
                locs.add(inline[i] ? null : stored.get(next++));
            }
            long storedDelta = 0;
            for (int i = 0; i < plainLens.length; i++) {
                int oldLen = plan.refs()[i] == null ? 0 : plan.refs()[i].plainLength();
                storedDelta += (patch[i] ? Math.max(oldLen, patchAt[i] + plainLens[i]) : plainLens[i]) - oldLen;
            }
            long grown = storedDelta;
            FileAttributes a;
            try {
                a = meta.write(t -> {
                    InodeRecord r = lockedInode(t, fs, h);
                    if (r.stored >= 0) {
                        r.stored += grown;
                    }
                    for (int i = 0; i < sealed.size(); i++) {
                        SealedChunk sc = sealed.get(i);
                        byte[] k = Keys.fsInoLong(fs.id, h.inode(), sc.key().index());
                        // The plan was read under the data lock, which every writer and truncate of this
                        // file holds: a chunk it found absent is still absent (an append needs no lookup).
                        byte[] prev = plan.refs()[i] == null ? null : t.getForUpdate(KeySpace.CHUNKS, k);
                        if (patch[i]) {
                            if (prev == null) {
                                throw new IoException("chunk " + sc.key().index() + " of inode " + h.inode()
                                        + " vanished while being patched");
                            }
                            // Decoded again here, not taken from the plan: compaction may have moved
                            // the chunk's records since (it does not take the data lock).
                            ChunkRef ref = ChunkRef.decode(fs.cipher, h.inode(), sc.key().index(), prev).withPatch(
                                    new ChunkRef.Patch(sc.key().version(), patchAt[i], plainLens[i], locs.get(i)));
                            t.put(KeySpace.CHUNKS, k, ref.encode(fs.cipher, h.inode(), sc.key().index()));
                            continue;
                        }
                        ChunkRef ref = inline[i] ? ChunkRef.inlined(sc.key().version(), plainLens[i], toArray(sc.payload()))
                                : ChunkRef.stored(sc.key().version(), plainLens[i], locs.get(i));
                        t.put(KeySpace.CHUNKS, k, ref.encode(fs.cipher, h.inode(), sc.key().index()));
                        if (prev != null) {
                            releaseLater(t, prev);
                        }
                    }
                    long now = nanos();
                    r.size = Math.max(r.size, offset + n);
                    r.mtime = now;
                    r.ctime = now;
                    r.change++;
                    if ((r.mode & 06000) != 0 && !ctx.credentials().isRoot()) {
                        r.mode &= ~04000;
                        if ((r.mode & 010) != 0) {
                            r.mode &= ~02000;
                        }
                    }
                    if (change != null) {
                        applyAttrs(r, change, ctx.credentials(), true);
                    }
                    dropCapabilities(t, fs, h.inode(), r);
                    writeInode(t, fs, h.inode(), r);
                    return attrs(fs, h.inode(), r);
                });
            } catch (IOException | RuntimeException e) {
                for (byte[] loc : stored) {
                    chunks.release(loc);
                }
                throw e;
            }
            if (stable) {
                groupSync.sync();
            } else {
                groupSync.markDirty();
            }
            return new WriteResult(n, stable, verifier, a);
        } finally {
            lock.unlock();
            giveSealArena(arena);
        }
    }

    /**
     * Heap space a write's chunks are sealed into, reused: a new array per chunk was zeroed
     * before the cipher overwrote it (~3% of the server's CPU during a sequential write). The
     * stores copy what they keep, so the space is free again once the write returns.
     */
    private final ConcurrentLinkedDeque<byte[]> sealArenas = new ConcurrentLinkedDeque<>();
    private final AtomicInteger idleSealArenas = new AtomicInteger();
    /** Arenas kept for reuse, and the largest one kept: a few 1 MiB writes in parallel. */
    private static final int SEAL_ARENAS_KEPT = 4;
    private static final int SEAL_ARENA_MAX = (2 << 20) + 4096;

    /** An arena of at least {@code size} bytes, or null when that is too large to keep (seal into fresh arrays). */
    private byte[] takeSealArena(int size) {
        if (size > SEAL_ARENA_MAX) {
            return null;
        }
        byte[] a = sealArenas.pollFirst();
        if (a != null) {
            idleSealArenas.decrementAndGet();
            if (a.length >= size) {
                return a;
            }
        }
        return new byte[Math.max(size, 1 << 20)];
    }

    private void giveSealArena(byte[] a) {
        if (a != null && idleSealArenas.incrementAndGet() <= SEAL_ARENAS_KEPT) {
            sealArenas.offerFirst(a);
        } else if (a != null) {
            idleSealArenas.decrementAndGet();
        }
    }

    @Override
    public long commit(OpContext ctx, FileHandle h) throws IOException {
        fs(h.fsId());
        groupSync.sync();
        return verifier;
    }

    // ------------------------------------------------------------------ reclaiming

    private void resumeReclaims() throws IOException {
        List<long[]> orphans = new ArrayList<>();
        meta.read(r -> {
            r.scan(KeySpace.ORPHANS, new byte[0], null, (k, v) -> {
                ByteBuffer b = ByteBuffer.wrap(k);
                orphans.add(new long[] {b.getInt(), b.getLong()});
                return true;
            });
            return null;
        });
        for (long[] o : orphans) {
            reclaimer.submit(() -> reclaim((int) o[0], o[1]));
        }
    }

    private void reclaim(int fsId, long ino) {
        try {
            deletePrefixInBatches(KeySpace.CHUNKS, Keys.fsIno(fsId, ino), true);
            meta.write(t -> {
                t.delete(KeySpace.ORPHANS, Keys.fsIno(fsId, ino));
                return null;
            });
        } catch (IOException | RuntimeException e) {
            if (closing) {
                log.debug("reclaiming inode {} of fs-{} stopped by shutdown; resumes at the next start", ino,
                        Integer.toHexString(fsId));
            } else {
                log.error("reclaiming inode {} of fs-{} failed (will retry at next start): {}", ino,
                        Integer.toHexString(fsId), e.toString());
            }
        }
    }

    /** Waits until pending background reclaims have run (for tests and orderly shutdown). */
    public void awaitReclaims() throws IOException {
        try {
            reclaimer.submit(() -> { }).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IoException("interrupted");
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IoException(e.getMessage());
        }
    }

    private void countLiveChunks(SegmentChunkStore seg) throws IOException {
        seg.resetLiveCounts();
        meta.read(r -> {
            r.scan(KeySpace.CHUNKS, new byte[0], null, (k, v) -> {
                for (byte[] loc : ChunkRef.locatorsOf(v)) {
                    seg.markLive(loc);
                }
                return true;
            });
            return null;
        });
    }

    /** Runs one compaction pass of the segment store now. */
    public long compact(double liveRatio) throws IOException {
        if (!(chunks instanceof SegmentChunkStore seg)) {
            return 0;
        }
        return seg.compact(liveRatio, new SegmentChunkStore.Relocator() {
            @Override
            public boolean isLive(ChunkKey key, byte[] locator) throws IOException {
                byte[] v = meta.read(r -> r.get(KeySpace.CHUNKS, Keys.fsInoLong(key.fs(), key.inode(), key.index())));
                if (v == null) {
                    return false;
                }
                // Throws when the file system's key is unusable: then nothing is moved or deleted.
                ChunkRef ref = ChunkRef.decode(fs(key.fs()).cipher, key.inode(), key.index(), v);
                return ref.relocated(key.version(), locator, locator) != null;
            }

            @Override
            public boolean relocate(ChunkKey key, byte[] oldLocator, byte[] newLocator) throws IOException {
                return meta.write(t -> {
                    byte[] k = Keys.fsInoLong(key.fs(), key.inode(), key.index());
                    byte[] v = t.getForUpdate(KeySpace.CHUNKS, k);
                    if (v == null) {
                        return false;
                    }
                    Fs owner = fs(key.fs());
                    ChunkRef moved = ChunkRef.decode(owner.cipher, key.inode(), key.index(), v)
                            .relocated(key.version(), oldLocator, newLocator);
                    if (moved == null) {
                        return false;
                    }
                    t.put(KeySpace.CHUNKS, k, moved.encode(owner.cipher, key.inode(), key.index()));
                    return true;
                });
            }
        }, meta::sync);
    }

    private void compactQuietly(SegmentChunkStore seg, double ratio) {
        try {
            compact(ratio);
        } catch (IOException | RuntimeException e) {
            log.error("compaction failed: {}", e.toString());
        }
    }

    // ------------------------------------------------------------------ xattrs

    private static void checkXattrName(String name, Credentials c, InodeRecord r, boolean write) throws IOException {
        if (name.isEmpty() || name.getBytes(StandardCharsets.UTF_8).length > 255) {
            throw new RangeException("bad attribute name length");
        }
        if (name.startsWith("user.")) {
            if (r.type != FileType.REGULAR && r.type != FileType.DIRECTORY) {
                throw new PermException("user attributes are only for files and directories");
            }
            if ((r.mode & 01000) != 0 && r.type == FileType.DIRECTORY && write && !Access.isOwnerOrRoot(r, c)) {
                throw new PermException("sticky directory");
            }
            Access.check(r, c, write ? Access.W : Access.R, (write ? "write" : "read") + " attribute");
            return;
        }
        if (name.startsWith("trusted.")) {
            if (!c.isRoot()) {
                throw write ? new PermException("trusted attributes need root") : new NoDataException("no such attribute");
            }
            return;
        }
        if (name.startsWith("security.")) {
            if (write && !Access.isOwnerOrRoot(r, c)) {
                throw new PermException("only the owner may set security attributes");
            }
            return;
        }
        // system.* (POSIX ACLs and friends) is not served.
        throw new NotSupportedException("attribute namespace not supported: " + name);
    }

    @Override
    public byte[] getxattr(OpContext ctx, FileHandle h, String name) throws IOException {
        Fs fs = fs(h.fsId());
        return meta.read(r -> {
            InodeRecord rec = inode(r, fs, h);
            checkXattrName(name, ctx.credentials(), rec, false);
            byte[] v = r.get(KeySpace.XATTRS, Keys.fsInoBytes(fs.id, h.inode(), fs.cipher.nameKey(NameDomain.XATTR, h.inode(), name)));
            if (v == null) {
                throw new NoDataException("no such attribute");
            }
            return fs.cipher.openRecord(RecordKind.XATTR_VALUE, h.inode(), v);
        });
    }

    @Override
    public List<String> listxattr(OpContext ctx, FileHandle h) throws IOException {
        Fs fs = fs(h.fsId());
        return meta.read(r -> {
            inode(r, fs, h);
            List<String> names = new ArrayList<>();
            r.scan(KeySpace.XATTRS, Keys.fsIno(fs.id, h.inode()), null, (k, v) -> {
                String n = fs.cipher.name(NameDomain.XATTR, h.inode(), Keys.tail(k, 12));
                if (!n.startsWith("trusted.") || ctx.credentials().isRoot()) {
                    names.add(n);
                }
                return true;
            });
            names.sort(null);
            return names;
        });
    }

    @Override
    public void setxattr(OpContext ctx, FileHandle h, String name, byte[] value, XattrSetMode mode) throws IOException {
        if (value.length > Protocol.MAX_XATTR_VALUE) {
            throw new io.coffer.core.status.TooBigException("attribute value too large");
        }
        Fs fs = fs(h.fsId());
        byte[] nk = fs.cipher.nameKey(NameDomain.XATTR, h.inode(), name);
        meta.write(t -> {
            InodeRecord rec = lockedInode(t, fs, h);
            checkXattrName(name, ctx.credentials(), rec, true);
            byte[] k = Keys.fsInoBytes(fs.id, h.inode(), nk);
            byte[] old = t.getForUpdate(KeySpace.XATTRS, k);
            if (mode == XattrSetMode.CREATE && old != null) {
                throw new ExistException("attribute exists");
            }
            if (mode == XattrSetMode.REPLACE && old == null) {
                throw new NoDataException("no such attribute");
            }
            if (old == null) {
                int[] total = {name.length() + 1};
                t.scan(KeySpace.XATTRS, Keys.fsIno(fs.id, h.inode()), null, (kk, vv) -> {
                    total[0] += fs.cipher.name(NameDomain.XATTR, h.inode(), Keys.tail(kk, 12)).length() + 1;
                    return true;
                });
                if (total[0] > MAX_XATTR_LIST) {
                    throw new NoSpaceException("too many extended attributes on this file");
                }
            }
            t.put(KeySpace.XATTRS, k, fs.cipher.sealRecord(RecordKind.XATTR_VALUE, h.inode(), value));
            if (SECURITY_CAPABILITY.equals(name)) {
                rec.mayHaveCapability = true;
            }
            // Never cleared again (removexattr included): a stale "may" costs only the scans at unlink.
            rec.mayHaveExtras = true;
            rec.ctime = nanos();
            rec.change++;
            writeInode(t, fs, h.inode(), rec);
            recordReply(t, ctx, Boolean.TRUE);
            return null;
        });
        afterMutation();
    }

    @Override
    public void removexattr(OpContext ctx, FileHandle h, String name) throws IOException {
        Fs fs = fs(h.fsId());
        byte[] nk = fs.cipher.nameKey(NameDomain.XATTR, h.inode(), name);
        meta.write(t -> {
            InodeRecord rec = lockedInode(t, fs, h);
            checkXattrName(name, ctx.credentials(), rec, true);
            byte[] k = Keys.fsInoBytes(fs.id, h.inode(), nk);
            if (t.getForUpdate(KeySpace.XATTRS, k) == null) {
                throw new NoDataException("no such attribute");
            }
            t.delete(KeySpace.XATTRS, k);
            if (SECURITY_CAPABILITY.equals(name)) {
                rec.mayHaveCapability = false;
            }
            rec.ctime = nanos();
            rec.change++;
            writeInode(t, fs, h.inode(), rec);
            recordReply(t, ctx, Boolean.TRUE);
            return null;
        });
        afterMutation();
    }

    // ------------------------------------------------------------------ locks

    @Override
    public LockRange testLock(OpContext ctx, FileHandle h, LockRange lock) throws IOException {
        Fs fs = fs(h.fsId());
        meta.read(r -> inode(r, fs, h));
        return locks.test(fs.id, h.inode(), clientOf(ctx), lock);
    }

    @Override
    public void lock(OpContext ctx, FileHandle h, LockRange lock) throws IOException {
        Fs fs = fs(h.fsId());
        meta.read(r -> inode(r, fs, h));
        locks.lock(fs.id, h.inode(), clientOf(ctx), lock, t -> {
            // Locked in the lock's transaction: an unlink committed since the check above must not
            // be followed by a lock row it never saw.
            InodeRecord rec = lockedInode(t, fs, h);
            if (!rec.mayHaveExtras) {
                rec.mayHaveExtras = true;
                writeInode(t, fs, h.inode(), rec);
            }
        }, t -> recordReply(t, ctx, Boolean.TRUE));
    }

    private static java.util.UUID clientOf(OpContext ctx) {
        return ctx.request() != null ? ctx.request().client() : new java.util.UUID(0, 0);
    }

    private static byte[] toArray(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    /** The base64 form used for wrapped keys in the catalog. */
    static String b64(byte[] b) {
        return Base64.getEncoder().encodeToString(b);
    }

    @Override
    public void close() throws IOException {
        closing = true;
        background.shutdownNow();
        // Queued reclaims stay recorded as orphans and resume at the next start; the one running
        // stops after its current batch. Closing the store under it crashed the JVM in RocksDB.
        reclaimer.shutdownNow();
        try {
            reclaimer.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            groupSync.sync();
        } finally {
            chunks.close();
            meta.close();
        }
    }
}
