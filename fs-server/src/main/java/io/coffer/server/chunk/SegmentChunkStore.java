package io.coffer.server.chunk;

import com.sun.nio.file.ExtendedOpenOption;
import io.coffer.core.status.IoException;
import io.coffer.core.status.NoSpaceException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local-disk chunk store: append-only segment files. Appending turns every write, random or
 * sequential, into a sequential write, and makes a chunk's replacement atomic (the new record is
 * complete on disk before any reference points at it). Space of released records is reclaimed
 * by {@link #compact}, which copies live records out of mostly-dead segments.
 *
 * <p>Record layout (docs/format.md): a 40-byte header (magic, format version, fs, inode, chunk
 * index, chunk version, payload length) followed by the payload. The header is checked against
 * the key asked for, so a record moved, swapped or truncated on disk reads as EIO.
 */
public final class SegmentChunkStore implements ChunkStore {
    private static final Logger log = LoggerFactory.getLogger(SegmentChunkStore.class);

    public static final int HEADER = 40;
    static final int MAGIC = 0x43434B31; // "CCK1"
    static final int FORMAT_VERSION = 1;
    private static final int LOCATOR_SIZE = 16;

    private final Path dir;
    private final long maxSegmentBytes;
    private final ReentrantLock appendLock = new ReentrantLock();
    private final Map<Integer, Segment> segments = new ConcurrentHashMap<>();
    private final Set<Segment> dirty = ConcurrentHashMap.newKeySet();
    private final ThreadLocal<ByteBuffer> scratch = new ThreadLocal<>();
    private volatile Segment active;

    private static final class Segment {
        final int id;
        final Path path;
        final FileChannel channel;
        /** Next append position (only the active segment grows). */
        long end;
        final AtomicLong liveBytes = new AtomicLong();
        volatile boolean deleted;
        /** The segment opened for direct I/O, once a run of it was read or written; null before. */
        volatile FileChannel direct;
        /** Whether this process stopped appending to it, and when ({@link System#nanoTime}). */
        volatile boolean retired;
        volatile long retiredNanos;
        /**
         * Ranges {from, to} appends reserved here but failed to write, which may hold anything
         * (compaction's scan steps over them; after a restart it finds them unreadable instead).
         */
        final List<long[]> failed = new CopyOnWriteArrayList<>();
        /** Set when compaction could not read the segment to its end: it is kept whole from then on. */
        volatile boolean unscannable;

        Segment(int id, Path path, FileChannel channel, long end) {
            this.id = id;
            this.path = path;
            this.channel = channel;
            this.end = end;
        }
    }

    public SegmentChunkStore(Path dir, long maxSegmentBytes) throws IOException {
        this.dir = dir;
        this.maxSegmentBytes = maxSegmentBytes;
        Files.createDirectories(dir);
        int maxId = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "seg-*.log")) {
            for (Path p : ds) {
                int id = Integer.parseInt(p.getFileName().toString().substring(4, 12));
                FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
                segments.put(id, new Segment(id, p, ch, ch.size()));
                maxId = Math.max(maxId, id);
            }
        }
        try {
            blockSize = (int) Math.max(512, Math.min(MAX_ALIGN, Files.getFileStore(dir).getBlockSize()));
        } catch (IOException | UnsupportedOperationException e) {
            log.info("block size of {} unknown, taking 4096: {}", dir, e.toString());
        }
        // A new segment on every start: the tail of the last one may hold a torn record.
        active = newSegment(maxId + 1);
    }

    public SegmentChunkStore(Path dir) throws IOException {
        this(dir, 256L << 20);
    }

    private Segment newSegment(int id) throws IOException {
        Path p = dir.resolve(String.format("seg-%08d.log", id));
        FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        Segment s = new Segment(id, p, ch, 0);
        segments.put(id, s);
        return s;
    }

    /**
     * Free space that writes leave on the disk (64 MiB by default), for compaction's copies and the
     * metadata store: on a disk filled to the last byte, removing files could not free anything,
     * since freeing a segment means copying its live records first.
     */
    private volatile long reserveBytes = 64L << 20;
    private final AtomicLong appendedSinceSpaceCheck = new AtomicLong();
    private volatile long spaceCheckedNanos;
    private volatile long usableAtCheck = Long.MAX_VALUE;
    private volatile boolean full;
    /** Free space is looked up again after this much has been appended, or a second has passed. */
    private static final long SPACE_CHECK_BYTES = 16L << 20;

    /** Sets the free space writes leave on the disk (tests use small file systems). */
    public void reserve(long bytes) {
        reserveBytes = bytes;
        spaceCheckedNanos = 0;
    }

    /** Whether the disk keeps its reserve after {@code bytes} more are appended. */
    private boolean roomFor(int bytes) {
        long since = appendedSinceSpaceCheck.addAndGet(bytes);
        long now = System.nanoTime();
        if (since >= SPACE_CHECK_BYTES || now - spaceCheckedNanos > TimeUnit.SECONDS.toNanos(1)) {
            try {
                usableAtCheck = Files.getFileStore(dir).getUsableSpace();
            } catch (IOException e) {
                usableAtCheck = Long.MAX_VALUE;
            }
            spaceCheckedNanos = now;
            appendedSinceSpaceCheck.set(bytes);
            since = bytes;
        }
        boolean room = usableAtCheck - since >= reserveBytes;
        if (room == full) {
            full = !room;
            if (full) {
                log.warn("{}: the disk is full ({} bytes free, {} kept for compaction and metadata): writes get ENOSPC"
                        + " until files are removed", dir, usableAtCheck, reserveBytes);
            } else {
                log.info("{}: the disk has room again ({} bytes free)", dir, usableAtCheck);
            }
        }
        return room;
    }

    @Override
    public List<byte[]> append(List<SealedChunk> chunks) throws IOException {
        return append(chunks, false);
    }

    /** @param maintenance a copy by compaction, which may use the reserve a client's write may not */
    private List<byte[]> append(List<SealedChunk> chunks, boolean maintenance) throws IOException {
        int total = 0;
        for (SealedChunk c : chunks) {
            total += HEADER + c.payload().remaining();
        }
        if (!maintenance && !roomFor(total)) {
            appendLock.lock();
            try {
                retireForSpace(active);
            } finally {
                appendLock.unlock();
            }
            throw new NoSpaceException("no space left on the server's disk");
        }
        boolean direct = directWrites && total >= DIRECT_WRITE_MIN;
        int align = direct ? writeAlign() : 1;
        int padded = roundUp(total, align);
        ByteBuffer buf = scratch(padded);
        List<byte[]> locators = new ArrayList<>(chunks.size());
        Segment seg;
        long pos;
        appendLock.lock();
        try {
            seg = active;
            if (seg.end > 0 && roundUp(seg.end, align) + padded > maxSegmentBytes) {
                seg.retiredNanos = System.nanoTime();
                seg.retired = true;
                seg = newSegment(seg.id + 1);
                active = seg;
            }
            // A direct write covers whole blocks of its own, so it never shares a page with
            // another append's buffered bytes; the blocks' unused ends stay zero.
            pos = roundUp(seg.end, align);
            seg.end = pos + padded;
        } finally {
            appendLock.unlock();
        }
        long at = pos;
        for (SealedChunk c : chunks) {
            int len = c.payload().remaining();
            ChunkKey k = c.key();
            buf.putInt(MAGIC).put((byte) FORMAT_VERSION).put((byte) 0).putShort((short) 0)
                    .putInt(k.fs()).putLong(k.inode()).putLong(k.index()).putLong(k.version()).putInt(len);
            buf.put(c.payload().duplicate());
            locators.add(locator(seg.id, at, HEADER + len));
            at += HEADER + len;
        }
        while (buf.position() < padded) {
            buf.put((byte) 0);
        }
        buf.flip();
        try {
            if (!direct || !writeDirect(seg, buf, pos)) {
                long p = pos;
                while (buf.hasRemaining()) {
                    p += seg.channel.write(buf, p);
                }
            }
        } catch (IOException e) {
            failedAppend(seg, pos, padded, NoSpaceException.isDiskFull(e));
            throw e;
        }
        seg.liveBytes.addAndGet(total);
        dirty.add(seg);
        return locators;
    }

    /**
     * After an append to {@code seg} at {@code pos} failed: the space it took is given back if no
     * append followed, else remembered as unreadable; and after a full disk the segment stops
     * being the active one, since only a segment appends have left can be compacted.
     */
    private void failedAppend(Segment seg, long pos, int padded, boolean diskFull) {
        appendLock.lock();
        try {
            if (seg.end == pos + padded) {
                seg.end = pos;
            } else {
                seg.failed.add(new long[] {pos, pos + padded});
            }
            if (diskFull) {
                retireForSpace(seg);
            }
        } finally {
            appendLock.unlock();
        }
    }

    /**
     * Retires {@code seg} if it is the active segment and holds anything, so that compaction can
     * free its dead records once files are removed. Called under the append lock.
     */
    private void retireForSpace(Segment seg) {
        if (seg != active || seg.end == 0) {
            return;
        }
        Segment next;
        try {
            next = newSegment(seg.id + 1);
        } catch (IOException e) {
            log.debug("no new segment on a full disk: {}", e.toString());
            return;
        }
        seg.retiredNanos = System.nanoTime();
        seg.retired = true;
        active = next;
    }

    private static int roundUp(int n, int align) {
        return (n + align - 1) / align * align;
    }

    private static long roundUp(long n, int align) {
        return (n + align - 1) / align * align;
    }

    /** Direct writes start and end on this boundary: the file system's block, and never less than a page. */
    private int writeAlign() {
        return Math.max(4096, blockSize);
    }

    /**
     * Writes {@code buf} (whole blocks, from a block boundary) with O_DIRECT; false if this file
     * system refuses direct I/O, and then nothing was written and later appends go through the
     * page cache. As with reads, copying a large append into page-cache pages that this VM has
     * to find first cost the server more CPU than the rest of its write (docs/performance.md).
     */
    private boolean writeDirect(Segment seg, ByteBuffer buf, long pos) throws IOException {
        FileChannel ch = directChannel(seg);
        if (ch == null) {
            directWrites = false;
            return false;
        }
        long p = pos;
        try {
            while (buf.hasRemaining()) {
                p += ch.write(buf, p);
            }
        } catch (IOException e) {
            if (p != pos || NoSpaceException.isDiskFull(e)) {
                // A full disk refuses buffered writes too: not a reason to give up direct I/O.
                throw e;
            }
            log.info("writing records without direct I/O to {}: {}", dir, e.toString());
            directWrites = false;
            buf.rewind();
            return false;
        }
        directWritten.increment();
        return true;
    }

    /** Records up to this size are read into a per-thread buffer (larger chunks are rare; each thread would keep one). */
    private static final int MAX_READ_SCRATCH = (256 << 10) + 1024;

    /** Per-thread heap buffers for {@link #readTransient}. */
    private final ThreadLocal<byte[]> readScratch = ThreadLocal.withInitial(() -> new byte[0]);

    private ByteBuffer readScratch(int size) {
        byte[] b = readScratch.get();
        if (b.length < size) {
            b = new byte[size];
            readScratch.set(b);
        }
        return ByteBuffer.wrap(b, 0, size);
    }

    private ByteBuffer scratch(int size) {
        ByteBuffer b = scratch.get();
        if (b == null || b.capacity() < size) {
            // Aligned for direct writes, whose buffers must start on a block.
            b = ByteBuffer.allocateDirect(Math.max(size, 1 << 20) + 2 * MAX_ALIGN).alignedSlice(MAX_ALIGN);
            scratch.set(b);
        }
        b.clear();
        return b;
    }

    static byte[] locator(int segment, long offset, int length) {
        return ByteBuffer.allocate(LOCATOR_SIZE).putInt(segment).putLong(offset).putInt(length).array();
    }

    @Override
    public ByteBuffer read(ChunkKey key, byte[] locator) throws IOException {
        return read(key, locator, false);
    }

    @Override
    public ByteBuffer readTransient(ChunkKey key, byte[] locator) throws IOException {
        return read(key, locator, true);
    }

    private ByteBuffer read(ChunkKey key, byte[] locator, boolean transientBuffer) throws IOException {
        if (locator.length != LOCATOR_SIZE) {
            throw new IoException("chunk " + describe(key) + ": malformed locator");
        }
        ByteBuffer l = ByteBuffer.wrap(locator);
        int segId = l.getInt();
        long off = l.getLong();
        int len = l.getInt();
        Segment seg = segments.get(segId);
        if (seg == null || len < HEADER) {
            throw corrupt("chunk " + describe(key) + ": segment " + segId + " is missing");
        }
        ByteBuffer buf = transientBuffer && len <= MAX_READ_SCRATCH ? readScratch(len) : ByteBuffer.allocate(len);
        long p = off;
        while (buf.hasRemaining()) {
            int n = seg.channel.read(buf, p);
            if (n < 0) {
                throw corrupt("chunk " + describe(key) + ": segment " + segId + " ends before the record (truncated)");
            }
            p += n;
        }
        buf.flip();
        return checked(buf, key, segId, off, len);
    }

    /** The payload of the record in {@code buf} (header first), after checking the header is {@code key}'s. */
    private static ByteBuffer checked(ByteBuffer buf, ChunkKey key, int segId, long off, int len) throws IoException {
        int magic = buf.getInt();
        int version = buf.get() & 0xFF;
        buf.get();
        buf.getShort();
        int fs = buf.getInt();
        long ino = buf.getLong();
        long idx = buf.getLong();
        long ver = buf.getLong();
        int plen = buf.getInt();
        if (magic != MAGIC || version != FORMAT_VERSION) {
            throw corrupt("chunk " + describe(key) + ": no valid record header at segment " + segId + " offset " + off);
        }
        if (fs != key.fs() || ino != key.inode() || idx != key.index() || ver != key.version() || plen != len - HEADER) {
            throw corrupt("chunk " + describe(key) + ": record at segment " + segId + " offset " + off
                    + " belongs to " + describe(new ChunkKey(fs, ino, idx, ver)));
        }
        return buf.slice();
    }

    /**
     * Largest run read in one go: a 1 MiB READ of 64 KiB chunks not aligned to them (17 records
     * with their headers and tags), and the blocks around it.
     */
    static final int MAX_RUN = (1 << 20) + (128 << 10);
    /** Runs read at once (their buffers are direct memory); a READ that finds none free reads its records one by one. */
    private static final int RUN_BUFFERS = 4;
    private final ArrayBlockingQueue<ByteBuffer> runBuffers = new ArrayBlockingQueue<>(RUN_BUFFERS);
    private final AtomicInteger runBuffersMade = new AtomicInteger();
    /** Cleared when this directory's file system refuses direct I/O, or by {@code -Dcoffer.directReads=false}. */
    private volatile boolean directReads = !"false".equals(System.getProperty("coffer.directReads"));
    private volatile int blockSize = 4096;
    private final LongAdder runsRead = new LongAdder();
    /** How long a segment that stopped being appended to is left out of compaction. */
    volatile long retireGraceNanos = TimeUnit.SECONDS.toNanos(60);

    /**
     * Sets how long a segment left behind by appends is spared by compaction (60 s by default);
     * for callers that know every append has been committed or abandoned, as tests do.
     */
    public void retireGrace(java.time.Duration grace) {
        retireGraceNanos = grace.toNanos();
    }

    /** Zeros left between records by direct appends end on a multiple of this (so does every direct append). */
    static final int PAD_UNIT = 4096;
    /** Largest block a direct read or write aligns to. */
    private static final int MAX_ALIGN = 65536;
    /** Appends at least this large are written with O_DIRECT: a WRITE of a few chunks or more. */
    static final int DIRECT_WRITE_MIN = 256 << 10;
    /** Cleared when this directory's file system refuses direct I/O, or by {@code -Dcoffer.directWrites=false}. */
    private volatile boolean directWrites = !"false".equals(System.getProperty("coffer.directWrites"));
    private final LongAdder directWritten = new LongAdder();

    /** Appends written with one direct write so far. */
    public long directWrites() {
        return directWritten.sum();
    }

    /** Appends every record through the page cache from now on, as on a file system that refuses direct I/O. */
    void disableDirectWrites() {
        directWrites = false;
    }

    /** Runs of records read with one direct read so far. */
    public long runsRead() {
        return runsRead.sum();
    }

    /** Reads every record on its own from now on, as on a file system that refuses direct I/O. */
    void disableDirectReads() {
        directReads = false;
    }

    /**
     * Reads records stored one after another in one segment with one direct read (O_DIRECT, no
     * page cache). On this project's VMs a read through the page cache of data not cached copies
     * at ~650 MB/s with the CPU busy throughout (the copy out of freshly filled pages), a direct
     * read of the same data runs at ~2 GB/s for a fifth of the CPU: a streaming READ's records
     * then cost the server ~40% less CPU (docs/performance.md). Dirty pages in the range are
     * written back by the kernel first, so what was appended is what is read. Each record is
     * checked as by {@link #read}.
     */
    @Override
    public Run readRun(List<ChunkKey> keys, List<byte[]> locators) throws IOException {
        if (!directReads || keys.size() < 2) {
            return null;
        }
        int segId = -1;
        long start = -1;
        long next = -1;
        for (byte[] loc : locators) {
            if (loc.length != LOCATOR_SIZE) {
                return null;
            }
            ByteBuffer l = ByteBuffer.wrap(loc);
            int sid = l.getInt();
            long off = l.getLong();
            int len = l.getInt();
            // Between two appends written directly lie at most a block's zeros: still one read.
            if (len < HEADER || (segId >= 0 && (sid != segId || off < next || off - next >= MAX_ALIGN))) {
                return null;
            }
            if (segId < 0) {
                segId = sid;
                start = off;
            }
            next = off + len;
        }
        Segment seg = segments.get(segId);
        int bs = blockSize;
        long from = start - Math.floorMod(start, bs);
        long to = next + Math.floorMod(-next, bs);
        if (seg == null || to - from > MAX_RUN) {
            return null;
        }
        ByteBuffer buf = takeRunBuffer();
        if (buf == null) {
            return null;
        }
        try {
            FileChannel ch = directChannel(seg);
            if (ch == null) {
                return null;
            }
            buf.clear().limit((int) (to - from));
            long p = from;
            while (buf.hasRemaining()) {
                int n = ch.read(buf, p);
                if (n <= 0) {
                    break;
                }
                p += n;
                if (Math.floorMod(p, bs) != 0) {
                    break; // the end of the segment, which need not end on a block
                }
            }
            if (p < next) {
                throw corrupt("chunk " + describe(keys.get(keys.size() - 1)) + ": segment " + segId
                        + " ends before the record (truncated)");
            }
            List<ByteBuffer> out = new ArrayList<>(keys.size());
            for (int i = 0; i < keys.size(); i++) {
                ByteBuffer l = ByteBuffer.wrap(locators.get(i));
                l.getInt();
                long off = l.getLong();
                int len = l.getInt();
                int at = (int) (off - from);
                ByteBuffer rec = buf.duplicate().position(at).limit(at + len).slice();
                out.add(checked(rec, keys.get(i), segId, off, len));
            }
            ByteBuffer held = buf;
            buf = null;
            runsRead.increment();
            return new Run() {
                private boolean closed;

                @Override
                public List<ByteBuffer> payloads() {
                    return out;
                }

                @Override
                public void close() {
                    if (!closed) {
                        closed = true;
                        runBuffers.offer(held);
                    }
                }
            };
        } catch (IOException e) {
            if (e instanceof IoException) {
                throw e;
            }
            // EINVAL and the like: this file system takes no direct reads after all.
            log.info("reading records without direct I/O from {}: {}", dir, e.toString());
            directReads = false;
            return null;
        } finally {
            if (buf != null) {
                runBuffers.offer(buf);
            }
        }
    }

    /** A free run buffer; null if all are in use. */
    private ByteBuffer takeRunBuffer() {
        ByteBuffer b = runBuffers.poll();
        if (b == null && runBuffersMade.get() < RUN_BUFFERS && runBuffersMade.incrementAndGet() <= RUN_BUFFERS) {
            b = ByteBuffer.allocateDirect(MAX_RUN + 2 * 65536).alignedSlice(65536);
        }
        return b;
    }

    private FileChannel directChannel(Segment seg) throws IOException {
        FileChannel ch = seg.direct;
        if (ch != null) {
            return ch;
        }
        synchronized (seg) {
            if (seg.deleted) {
                return null;
            }
            if (seg.direct == null) {
                try {
                    seg.direct = FileChannel.open(seg.path, StandardOpenOption.READ, StandardOpenOption.WRITE,
                            ExtendedOpenOption.DIRECT);
                } catch (IOException | UnsupportedOperationException e) {
                    log.info("reading records without direct I/O from {}: {}", dir, e.toString());
                    directReads = false;
                    return null;
                }
            }
            return seg.direct;
        }
    }

    /** Logs a damaged or misplaced record (the dispatcher logs EIO replies only at debug) and returns its error. */
    private static IoException corrupt(String message) {
        log.error("{} (tampered, truncated, swapped or stale on disk)", message);
        return new IoException(message);
    }

    private static String describe(ChunkKey k) {
        return String.format("fs-%08x inode %d index %d version %d", k.fs(), k.inode(), k.index(), k.version());
    }

    @Override
    public void release(byte[] locator) {
        ByteBuffer l = ByteBuffer.wrap(locator);
        Segment seg = segments.get(l.getInt());
        if (seg != null) {
            l.getLong();
            seg.liveBytes.addAndGet(-l.getInt());
        }
    }

    /** Counts a stored record as referenced; the server calls it for every reference at start-up. */
    public void markLive(byte[] locator) {
        ByteBuffer l = ByteBuffer.wrap(locator);
        Segment seg = segments.get(l.getInt());
        if (seg != null) {
            l.getLong();
            seg.liveBytes.addAndGet(l.getInt());
        }
    }

    /** Forgets start-up counts of the segments that existed before this process appended to them. */
    public void resetLiveCounts() {
        for (Segment s : segments.values()) {
            if (s != active) {
                s.liveBytes.set(0);
            }
        }
    }

    @Override
    public void sync() throws IOException {
        for (Segment s : dirty.toArray(new Segment[0])) {
            dirty.remove(s);
            try {
                s.channel.force(false);
            } catch (IOException e) {
                dirty.add(s);
                throw e;
            }
        }
    }

    @Override
    public long usedBytes() {
        long n = 0;
        for (Segment s : segments.values()) {
            n += s.end;
        }
        return n;
    }

    /** Live bytes and total bytes per segment, for tests and status. */
    public Map<Integer, long[]> segmentUsage() {
        Map<Integer, long[]> m = new java.util.TreeMap<>();
        for (Segment s : segments.values()) {
            m.put(s.id, new long[] {s.liveBytes.get(), s.end});
        }
        return m;
    }

    public Path directory() {
        return dir;
    }

    /**
     * Reclaims space: deletes segments with no live bytes, and copies the live records of
     * segments less than {@code liveRatio} full into the active segment, asking
     * {@code relocator} to move each reference (it returns false when the record is no longer
     * referenced, and then the record is dropped). The caller makes the new references durable
     * before the old segment is deleted: {@code relocator} runs in metadata transactions, and
     * {@code beforeDelete} is called (to sync) before files are removed.
     *
     * @return bytes reclaimed
     */
    public long compact(double liveRatio, Relocator relocator, IoAction beforeDelete) throws IOException {
        List<Segment> victims = new ArrayList<>();
        long now = System.nanoTime();
        for (Segment s : segments.values()) {
            if (s == active || s.deleted || s.end == 0 || s.unscannable) {
                continue;
            }
            // An append to a segment just left behind may not yet be referenced (its metadata
            // commit follows the append): compaction would take its record for dead and delete it.
            if (s.retired && now - s.retiredNanos < retireGraceNanos) {
                continue;
            }
            if (s.liveBytes.get() <= s.end * liveRatio) {
                victims.add(s);
            }
        }
        if (victims.isEmpty()) {
            return 0;
        }
        for (Iterator<Segment> it = victims.iterator(); it.hasNext(); ) {
            Segment s = it.next();
            if (s.liveBytes.get() > 0 && !copyLive(s, relocator)) {
                // Live records past the unreadable part would be lost with the segment.
                s.unscannable = true;
                it.remove();
                log.warn("segment {} could not be read to its end; it is kept whole, its dead records unreclaimed",
                        s.id);
            }
        }
        if (victims.isEmpty()) {
            return 0;
        }
        sync();
        beforeDelete.run();
        long freed = 0;
        for (Segment s : victims) {
            FileChannel direct;
            synchronized (s) {
                s.deleted = true;
                direct = s.direct;
            }
            segments.remove(s.id);
            freed += s.end;
            try {
                Files.deleteIfExists(s.path);
            } catch (NoSuchFileException ignored) {
                // Already gone.
            }
            // Readers that fetched a locator just before the move still hold the open channel;
            // the kernel keeps the unlinked file readable until it is closed.
            closeLater(s.channel);
            if (direct != null) {
                closeLater(direct);
            }
        }
        log.info("compaction reclaimed {} bytes from {} segments", freed, victims.size());
        return freed;
    }

    /**
     * Copies {@code s}'s live records to the active segment; false if it could not read {@code s}
     * to its end while live bytes remain unaccounted for (a torn record at the tail of a segment
     * from before a crash, with nothing live after it, still lets the segment go).
     */
    private boolean copyLive(Segment s, Relocator relocator) throws IOException {
        long[] moved = {0};
        if (scanLive(s, relocator, moved)) {
            return true;
        }
        // Relocated records stay counted in s (their new copies are what later removals release),
        // and records removed meanwhile are no longer counted: what remains beyond the moved bytes
        // is a live record the scan did not reach.
        return moved[0] >= s.liveBytes.get();
    }

    private boolean scanLive(Segment s, Relocator relocator, long[] moved) throws IOException {
        long pos = 0;
        ByteBuffer header = ByteBuffer.allocate(HEADER);
        while (pos + HEADER <= s.end) {
            long skipTo = pos;
            for (long[] f : s.failed) {
                if (pos >= f[0] && pos < f[1]) {
                    skipTo = f[1];
                }
            }
            if (skipTo != pos) {
                pos = skipTo;
                continue;
            }
            header.clear();
            if (readFully(s.channel, header, pos) < HEADER) {
                return false;
            }
            header.flip();
            int magic = header.getInt();
            if (magic == 0) {
                // Zeros before or after a direct append, up to a block boundary; the next record
                // (if any) starts on one.
                pos = (pos / PAD_UNIT + 1) * PAD_UNIT;
                continue;
            }
            if (magic != MAGIC) {
                log.warn("segment {} has no record header at {}; stopping its scan", s.id, pos);
                return false;
            }
            header.getInt();
            ChunkKey key = new ChunkKey(header.getInt(), header.getLong(), header.getLong(), header.getLong());
            int plen = header.getInt();
            byte[] oldLoc = locator(s.id, pos, HEADER + plen);
            if (relocator.isLive(key, oldLoc)) {
                ByteBuffer payload = ByteBuffer.allocate(plen);
                readFully(s.channel, payload, pos + HEADER);
                payload.flip();
                byte[] newLoc = append(List.of(new SealedChunk(key, payload)), true).get(0);
                if (relocator.relocate(key, oldLoc, newLoc)) {
                    moved[0] += HEADER + plen;
                } else {
                    release(newLoc);
                }
            }
            pos += HEADER + plen;
        }
        return true;
    }

    private static int readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        int total = 0;
        while (b.hasRemaining()) {
            int n = ch.read(b, pos + total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    private static void closeLater(FileChannel ch) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(30_000);
                ch.close();
            } catch (InterruptedException | IOException ignored) {
                // Best effort: the channel is closed at exit anyway.
            }
        }, "segment-close");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        sync();
        for (Segment s : segments.values()) {
            s.channel.close();
            FileChannel d = s.direct;
            if (d != null) {
                d.close();
            }
        }
    }

    /** Moves references during compaction. */
    public interface Relocator {
        /** Whether a reference still points at {@code locator} for {@code key}. */
        boolean isLive(ChunkKey key, byte[] locator) throws IOException;

        /** Points the reference at the new copy if it still points at the old; false if it moved on. */
        boolean relocate(ChunkKey key, byte[] oldLocator, byte[] newLocator) throws IOException;
    }

    @FunctionalInterface
    public interface IoAction {
        void run() throws IOException;
    }
}
