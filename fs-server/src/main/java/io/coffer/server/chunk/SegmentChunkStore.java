package io.coffer.server.chunk;

import io.coffer.core.status.IoException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
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

    @Override
    public List<byte[]> append(List<SealedChunk> chunks) throws IOException {
        int total = 0;
        for (SealedChunk c : chunks) {
            total += HEADER + c.payload().remaining();
        }
        ByteBuffer buf = scratch(total);
        List<byte[]> locators = new ArrayList<>(chunks.size());
        Segment seg;
        long pos;
        appendLock.lock();
        try {
            seg = active;
            if (seg.end > 0 && seg.end + total > maxSegmentBytes) {
                seg = newSegment(seg.id + 1);
                active = seg;
            }
            pos = seg.end;
            seg.end += total;
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
        buf.flip();
        long p = pos;
        while (buf.hasRemaining()) {
            p += seg.channel.write(buf, p);
        }
        seg.liveBytes.addAndGet(total);
        dirty.add(seg);
        return locators;
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
            b = ByteBuffer.allocateDirect(Math.max(size, 1 << 20));
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
        for (Segment s : segments.values()) {
            if (s == active || s.deleted || s.end == 0) {
                continue;
            }
            if (s.liveBytes.get() <= s.end * liveRatio) {
                victims.add(s);
            }
        }
        if (victims.isEmpty()) {
            return 0;
        }
        for (Segment s : victims) {
            if (s.liveBytes.get() > 0) {
                copyLive(s, relocator);
            }
        }
        sync();
        beforeDelete.run();
        long freed = 0;
        for (Segment s : victims) {
            s.deleted = true;
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
        }
        log.info("compaction reclaimed {} bytes from {} segments", freed, victims.size());
        return freed;
    }

    private void copyLive(Segment s, Relocator relocator) throws IOException {
        long pos = 0;
        ByteBuffer header = ByteBuffer.allocate(HEADER);
        while (pos + HEADER <= s.end) {
            header.clear();
            if (readFully(s.channel, header, pos) < HEADER) {
                break;
            }
            header.flip();
            if (header.getInt() != MAGIC) {
                log.warn("segment {} has no record header at {}; stopping its scan", s.id, pos);
                break;
            }
            header.getInt();
            ChunkKey key = new ChunkKey(header.getInt(), header.getLong(), header.getLong(), header.getLong());
            int plen = header.getInt();
            byte[] oldLoc = locator(s.id, pos, HEADER + plen);
            if (relocator.isLive(key, oldLoc)) {
                ByteBuffer payload = ByteBuffer.allocate(plen);
                readFully(s.channel, payload, pos + HEADER);
                payload.flip();
                byte[] newLoc = append(List.of(new SealedChunk(key, payload))).get(0);
                if (!relocator.relocate(key, oldLoc, newLoc)) {
                    release(newLoc);
                }
            }
            pos += HEADER + plen;
        }
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
