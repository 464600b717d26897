package io.coffer.server.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.core.CreateMode;
import io.coffer.core.Credentials;
import io.coffer.core.Entry;
import io.coffer.core.FileHandle;
import io.coffer.core.FileSystemId;
import io.coffer.core.FileType;
import io.coffer.core.LockRange;
import io.coffer.core.LockType;
import io.coffer.core.OpContext;
import io.coffer.core.RequestId;
import io.coffer.core.SetAttributes;
import io.coffer.core.XattrSetMode;
import io.coffer.server.chunk.ChunkStore;
import io.coffer.server.chunk.MemoryChunkStore;
import io.coffer.server.chunk.SegmentChunkStore;
import io.coffer.server.crypto.FsCipher;
import io.coffer.server.crypto.FsCipher.RecordKind;
import io.coffer.server.meta.KeySpace;
import io.coffer.server.meta.Keys;
import io.coffer.server.meta.MemoryMetadataStore;
import io.coffer.server.meta.MetaReader;
import io.coffer.server.meta.MetaTxn;
import io.coffer.server.meta.MetadataStore;
import io.coffer.server.meta.RocksMetadataStore;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The inode record's "may have extras" flag: removing an inode's last link skips the xattr and
 * lock scans only when the record proves there is nothing to delete, and never leaves an xattr
 * or a lock behind, also for records written by older servers. On the in-memory engine and on
 * RocksDB with encryption.
 */
class InodeExtrasTest {
    @TempDir
    Path dir;
    CountingStore meta;
    final FixedKeyCiphers ciphers = new FixedKeyCiphers();
    StoreFileSystem fs;
    FileSystemRecord fsRecord;
    int fsId;
    FileHandle root;
    final OpContext ctx = OpContext.root();
    final byte[] caps = {1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

    private void open(String engine) throws IOException {
        boolean rocks = engine.equals("rocks");
        meta = new CountingStore(rocks ? new RocksMetadataStore(dir.resolve("meta"), false) : new MemoryMetadataStore());
        ChunkStore chunks = rocks ? new SegmentChunkStore(dir.resolve("chunks"), 1 << 20) : new MemoryChunkStore();
        fs = new StoreFileSystem(meta, chunks, ciphers, Clock.systemUTC(), dir,
                new StoreFileSystem.Options(false, 0, 0, 0.5, 90_000));
        fsRecord = fs.createFileSystem("t", rocks, null, 4096, "test");
        fsId = FileSystemId.parse(fsRecord.id()).value();
        root = fs.mount(ctx, new FileSystemId(fsId), "/").handle();
    }

    @AfterEach
    void tearDown() throws IOException {
        if (fs != null) {
            fs.close();
        }
    }

    // ------------------------------------------------------------------ helpers

    private FsCipher cipher() throws IOException {
        return ciphers.cipher(fsRecord);
    }

    /** The inode record's plaintext as stored. */
    private byte[] rawRecord(long ino) throws IOException {
        byte[] sealed = meta.inner.read(r -> r.get(KeySpace.INODES, Keys.fsIno(fsId, ino)));
        return cipher().openRecord(RecordKind.INODE, ino, sealed);
    }

    private InodeRecord record(long ino) throws IOException {
        return InodeRecord.decode(rawRecord(ino));
    }

    private void putRawRecord(long ino, byte[] plain) throws IOException {
        byte[] sealed = cipher().sealRecord(RecordKind.INODE, ino, plain);
        meta.inner.write(t -> {
            t.put(KeySpace.INODES, Keys.fsIno(fsId, ino), sealed);
            return null;
        });
    }

    /** Where the flags byte is in a format-2 record: after the fixed fields (94 bytes) and the symlink target. */
    private static int flagsIndex(byte[] plain) {
        int targetLength = ((plain[94] & 0xff) << 8) | (plain[95] & 0xff);
        return 96 + targetLength;
    }

    /** The flags byte; 0 for a format-1 record, which has none. */
    private static int flags(byte[] plain) {
        return plain[0] == 1 ? 0 : plain[flagsIndex(plain)] & 0xff;
    }

    /** The record up to its flags: what a server from before the stored count (flag bit 3) wrote. */
    private static byte[] upToFlags(byte[] plain) {
        return Arrays.copyOf(plain, flagsIndex(plain) + 1);
    }

    private List<byte[]> rows(KeySpace space, long ino) throws IOException {
        List<byte[]> out = new ArrayList<>();
        meta.inner.read(r -> {
            r.scan(space, Keys.fsIno(fsId, ino), null, (k, v) -> {
                out.add(k);
                return true;
            });
            return null;
        });
        return out;
    }

    private Entry file(String name) throws IOException {
        return fs.create(ctx, root, name, 0644, CreateMode.EXCLUSIVE);
    }

    private static OpContext client(UUID id) {
        return new OpContext(Credentials.ROOT, "test", new RequestId(id, 1), null);
    }

    private static LockRange writeLock(long start, long length, boolean flock) {
        return new LockRange(LockType.WRITE, start, length, 1, 11, flock);
    }

    private void assertTrackedWithout(long ino, String what) throws IOException {
        byte[] raw = rawRecord(ino);
        assertEquals(2, flags(raw) & 2, what + ": every record this server writes is tracked");
        assertFalse(InodeRecord.decode(raw).mayHaveExtras, what + ": starts without extras");
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ tests

    @ParameterizedTest
    @ValueSource(strings = {"memory", "rocks"})
    void everyNewInodeIsTrackedAndHasNoExtras(String engine) throws IOException {
        open(engine);
        assertTrackedWithout(root.inode(), "root directory");
        Entry f = file("f");
        assertTrackedWithout(f.handle().inode(), "regular file");
        assertTrackedWithout(fs.mkdir(ctx, root, "d", 0755).handle().inode(), "directory");
        assertTrackedWithout(fs.symlink(ctx, root, "s", "f").handle().inode(), "symlink");
        assertTrackedWithout(fs.mknod(ctx, root, "p", FileType.FIFO, 0644, 0).handle().inode(), "fifo");
        assertTrackedWithout(fs.mknod(ctx, root, "c", FileType.CHAR_DEVICE, 0644, 0x0103).handle().inode(), "device");
        fs.link(ctx, f.handle(), root, "f2");
        assertTrackedWithout(f.handle().inode(), "hard-link target");
        // Rewrites that concern neither keep the flag clear.
        fs.write(ctx, f.handle(), 0, Unpooled.wrappedBuffer(bytes("data")), false);
        fs.setattr(ctx, f.handle(), SetAttributes.mode(0600));
        fs.setattr(ctx, f.handle(), SetAttributes.size(1));
        assertTrackedWithout(f.handle().inode(), "written, chmodded, truncated file");
        // An unlock of a file that holds no lock stores nothing, so it does not mark the record.
        fs.lock(client(UUID.randomUUID()), f.handle(), new LockRange(LockType.UNLOCK, 0, 0, 1, 11, false));
        assertTrackedWithout(f.handle().inode(), "file unlocked without a lock");
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "rocks"})
    void anXattrOfAnyNamespaceMarksTheInodeAndGoesWithItsLastLink(String engine) throws IOException {
        open(engine);
        for (String name : new String[] {"user.color", "trusted.t", "security.selinux", "security.capability"}) {
            Entry e = file("x-" + name);
            long ino = e.handle().inode();
            fs.setxattr(ctx, e.handle(), name, caps, XattrSetMode.ANY);
            assertTrue(record(ino).mayHaveExtras, name);
            assertEquals(6, flags(rawRecord(ino)) & 6, name);
            assertEquals(1, rows(KeySpace.XATTRS, ino).size(), name);
            meta.reset();
            fs.remove(ctx, root, "x-" + name);
            assertTrue(meta.scans(KeySpace.XATTRS) > 0, name + ": the xattr scan ran");
            assertEquals(List.of(), rows(KeySpace.XATTRS, ino), name + ": no xattr left");
        }
        // Removing the attribute does not clear the flag: a stale "may" only costs the scans.
        Entry e = file("removed");
        fs.setxattr(ctx, e.handle(), "user.a", bytes("1"), XattrSetMode.ANY);
        fs.removexattr(ctx, e.handle(), "user.a");
        assertTrue(record(e.handle().inode()).mayHaveExtras);
        // On a directory too, removed by rmdir.
        Entry d = fs.mkdir(ctx, root, "dx", 0755);
        fs.setxattr(ctx, d.handle(), "user.d", bytes("1"), XattrSetMode.ANY);
        fs.rmdir(ctx, root, "dx");
        assertEquals(List.of(), rows(KeySpace.XATTRS, d.handle().inode()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "rocks"})
    void aLockMarksTheInodeAndGoesWithItsLastLink(String engine) throws IOException {
        open(engine);
        for (boolean flock : new boolean[] {false, true}) {
            String name = flock ? "flocked" : "locked";
            Entry e = file(name);
            long ino = e.handle().inode();
            long change = fs.getattr(ctx, e.handle()).change();
            fs.lock(client(UUID.randomUUID()), e.handle(), writeLock(0, 100, flock));
            assertTrue(record(ino).mayHaveExtras, name);
            assertEquals(change, fs.getattr(ctx, e.handle()).change(), "a lock is no attribute change");
            assertFalse(rows(KeySpace.LOCKS, ino).isEmpty(), name);
            meta.reset();
            fs.remove(ctx, root, name);
            assertTrue(meta.scans(KeySpace.LOCKS) > 0, name + ": the lock scan ran");
            assertEquals(List.of(), rows(KeySpace.LOCKS, ino), name + ": no lock left");
        }
        // Unlocking the middle of a lock stores its two ends: the record says so already.
        Entry e = file("split");
        UUID c = UUID.randomUUID();
        fs.lock(client(c), e.handle(), writeLock(0, 100, false));
        fs.lock(client(c), e.handle(), new LockRange(LockType.UNLOCK, 40, 10, 1, 11, false));
        assertEquals(2, rows(KeySpace.LOCKS, e.handle().inode()).size());
        assertTrue(record(e.handle().inode()).mayHaveExtras);
        file("over");
        meta.reset();
        fs.rename(ctx, root, "over", root, "split");
        assertTrue(meta.scans(KeySpace.LOCKS) > 0);
        assertEquals(List.of(), rows(KeySpace.LOCKS, e.handle().inode()), "replaced by rename: its locks go");
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "rocks"})
    void removingAnInodeWithNeitherRunsNoScan(String engine) throws IOException {
        open(engine);
        Entry small = file("small");
        fs.write(ctx, small.handle(), 0, Unpooled.wrappedBuffer(bytes("hello")), false);
        Entry big = file("big");
        fs.write(ctx, big.handle(), 0, Unpooled.wrappedBuffer(new byte[3 * 4096 + 1]), false);
        file("empty");
        file("victim");
        file("replacement");
        fs.mkdir(ctx, root, "dir", 0755);
        fs.symlink(ctx, root, "sym", "small");
        meta.reset();
        fs.remove(ctx, root, "small");
        fs.remove(ctx, root, "big");
        fs.remove(ctx, root, "empty");
        fs.rmdir(ctx, root, "dir");
        fs.remove(ctx, root, "sym");
        fs.rename(ctx, root, "replacement", root, "victim");
        fs.awaitReclaims();
        assertEquals(0, meta.scans(KeySpace.XATTRS), "xattr scans");
        assertEquals(0, meta.scans(KeySpace.LOCKS), "lock scans");
        assertEquals(List.of("victim"), names());
    }

    private List<String> names() throws IOException {
        List<String> out = new ArrayList<>();
        fs.readdir(ctx, root, 0, 100).entries().forEach(d -> out.add(d.name()));
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "rocks"})
    void recordsWithoutTheTrackedBitStillGetTheScans(String engine) throws IOException {
        open(engine);
        // How a record looks that an older server wrote, or rewrote after this one wrote it:
        // format 1, or format 2 with bit 0 at most.
        Map<String, UnaryOperator<byte[]>> older = Map.of(
                "format 1", b -> {
                    byte[] v1 = Arrays.copyOf(b, flagsIndex(b));
                    v1[0] = 1;
                    return v1;
                },
                "format 2, flags 0", b -> {
                    byte[] c = upToFlags(b);
                    c[c.length - 1] = 0;
                    return c;
                },
                "format 2, rewritten by an older server", b -> {
                    byte[] c = upToFlags(b);
                    c[c.length - 1] &= 1;
                    return c;
                });
        for (Map.Entry<String, UnaryOperator<byte[]>> o : older.entrySet()) {
            for (boolean rewrittenHere : new boolean[] {false, true}) {
                String what = o.getKey() + (rewrittenHere ? ", then rewritten here" : "");
                String name = "old-" + what;
                Entry e = file(name);
                long ino = e.handle().inode();
                fs.setxattr(ctx, e.handle(), "user.kept", bytes("v"), XattrSetMode.ANY);
                fs.lock(client(UUID.randomUUID()), e.handle(), writeLock(0, 0, false));
                putRawRecord(ino, o.getValue().apply(rawRecord(ino)));
                assertEquals(0, flags(rawRecord(ino)) & 2, what + ": simulated record is untracked");
                if (rewrittenHere) {
                    fs.setattr(ctx, e.handle(), SetAttributes.mode(0600));
                    assertEquals(6, flags(rawRecord(ino)) & 6, what + ": rewritten as tracked and may-have");
                }
                fs.remove(ctx, root, name);
                assertEquals(List.of(), rows(KeySpace.XATTRS, ino), what + ": no xattr left");
                assertEquals(List.of(), rows(KeySpace.LOCKS, ino), what + ": no lock left");
            }
        }
        // The same with the xattr row put straight into the store, as an older server's
        // setxattr would leave it next to a record whose bits it dropped.
        Entry e = file("raw");
        long ino = e.handle().inode();
        byte[] plain = upToFlags(rawRecord(ino));
        plain[plain.length - 1] = 0;
        putRawRecord(ino, plain);
        byte[] k = Keys.fsInoBytes(fsId, ino, cipher().nameKey(FsCipher.NameDomain.XATTR, ino, "user.old"));
        byte[] v = cipher().sealRecord(RecordKind.XATTR_VALUE, ino, bytes("old"));
        meta.inner.write(t -> {
            t.put(KeySpace.XATTRS, k, v);
            return null;
        });
        assertArrayEquals(bytes("old"), fs.getxattr(ctx, e.handle(), "user.old"));
        fs.remove(ctx, root, "raw");
        assertEquals(List.of(), rows(KeySpace.XATTRS, ino));
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory", "rocks"})
    void hardLinkedExtrasGoWithTheLastLinkOnly(String engine) throws IOException {
        open(engine);
        Entry a = file("a");
        long ino = a.handle().inode();
        fs.link(ctx, a.handle(), root, "b");
        fs.setxattr(ctx, a.handle(), "user.shared", bytes("1"), XattrSetMode.ANY);
        fs.lock(client(UUID.randomUUID()), a.handle(), writeLock(0, 10, false));
        fs.remove(ctx, root, "a");
        assertTrue(record(ino).mayHaveExtras, "the remaining link keeps the flag");
        assertArrayEquals(bytes("1"), fs.getxattr(ctx, a.handle(), "user.shared"));
        assertFalse(rows(KeySpace.LOCKS, ino).isEmpty());
        fs.remove(ctx, root, "b");
        assertEquals(List.of(), rows(KeySpace.XATTRS, ino));
        assertEquals(List.of(), rows(KeySpace.LOCKS, ino));
        // A link made after the xattr: the target keeps its flag through link and unlink.
        Entry c = file("c");
        fs.setxattr(ctx, c.handle(), "user.x", bytes("1"), XattrSetMode.ANY);
        fs.link(ctx, c.handle(), root, "d");
        fs.remove(ctx, root, "c");
        assertTrue(record(c.handle().inode()).mayHaveExtras);
        fs.remove(ctx, root, "d");
        assertEquals(List.of(), rows(KeySpace.XATTRS, c.handle().inode()));
        assertThrows(io.coffer.core.status.StaleException.class, () -> fs.getxattr(ctx, c.handle(), "user.x"));
        assertThrows(io.coffer.core.status.StaleException.class,
                () -> fs.lock(client(UUID.randomUUID()), c.handle(), writeLock(0, 1, false)));
        assertEquals(List.of(), rows(KeySpace.LOCKS, c.handle().inode()));
    }

    /** A metadata store that counts the scans and point reads of each key space, through reads and transactions. */
    static final class CountingStore implements MetadataStore {
        final MetadataStore inner;
        private final Map<KeySpace, AtomicInteger> scans = new EnumMap<>(KeySpace.class);
        private final Map<KeySpace, AtomicInteger> gets = new EnumMap<>(KeySpace.class);

        CountingStore(MetadataStore inner) {
            this.inner = inner;
            for (KeySpace s : KeySpace.values()) {
                scans.put(s, new AtomicInteger());
                gets.put(s, new AtomicInteger());
            }
        }

        int scans(KeySpace s) {
            return scans.get(s).get();
        }

        int gets(KeySpace s) {
            return gets.get(s).get();
        }

        void reset() {
            scans.values().forEach(c -> c.set(0));
            gets.values().forEach(c -> c.set(0));
        }

        @Override
        public <T> T read(ReadWork<T> work) throws IOException {
            return inner.read(r -> work.run(new CountingReader(r)));
        }

        @Override
        public <T> T write(WriteWork<T> work) throws IOException {
            return inner.write(t -> work.run(new CountingTxn(t)));
        }

        @Override
        public void sync() throws IOException {
            inner.sync();
        }

        @Override
        public void close() throws IOException {
            inner.close();
        }

        private class CountingReader implements MetaReader {
            private final MetaReader r;

            CountingReader(MetaReader r) {
                this.r = r;
            }

            @Override
            public byte[] get(KeySpace space, byte[] key) throws IOException {
                gets.get(space).incrementAndGet();
                return r.get(space, key);
            }

            @Override
            public void scan(KeySpace space, byte[] prefix, byte[] startAfter, ScanVisitor visitor) throws IOException {
                scans.get(space).incrementAndGet();
                r.scan(space, prefix, startAfter, visitor);
            }
        }

        private final class CountingTxn extends CountingReader implements MetaTxn {
            private final MetaTxn t;

            CountingTxn(MetaTxn t) {
                super(t);
                this.t = t;
            }

            @Override
            public byte[] getForUpdate(KeySpace space, byte[] key) throws IOException {
                gets.get(space).incrementAndGet();
                return t.getForUpdate(space, key);
            }

            @Override
            public void put(KeySpace space, byte[] key, byte[] value) throws IOException {
                t.put(space, key, value);
            }

            @Override
            public void delete(KeySpace space, byte[] key) throws IOException {
                t.delete(space, key);
            }

            @Override
            public void afterCommit(Runnable action) {
                t.afterCommit(action);
            }
        }
    }
}
