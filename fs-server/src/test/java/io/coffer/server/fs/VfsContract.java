package io.coffer.server.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.core.CreateMode;
import io.coffer.core.Credentials;
import io.coffer.core.DirEntry;
import io.coffer.core.DirListing;
import io.coffer.core.Entry;
import io.coffer.core.FileAttributes;
import io.coffer.core.FileHandle;
import io.coffer.core.FileType;
import io.coffer.core.LockRange;
import io.coffer.core.LockType;
import io.coffer.core.OpContext;
import io.coffer.core.ReadResult;
import io.coffer.core.RequestId;
import io.coffer.core.SetAttributes;
import io.coffer.core.Vfs;
import io.coffer.core.XattrSetMode;
import io.coffer.core.status.AccessException;
import io.coffer.core.status.AgainException;
import io.coffer.core.status.ExistException;
import io.coffer.core.status.InvalException;
import io.coffer.core.status.IsDirException;
import io.coffer.core.status.NameTooLongException;
import io.coffer.core.status.NoDataException;
import io.coffer.core.status.NoEntException;
import io.coffer.core.status.NotDirException;
import io.coffer.core.status.NotEmptyException;
import io.coffer.core.status.PermException;
import io.coffer.core.status.StaleException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The behaviour every {@link Vfs} must have: the server's own implementation over each store
 * engine, and the client's implementation over the protocol. Chunk size in these tests is
 * {@link #CHUNK} so that chunk edges are cheap to cross.
 */
public abstract class VfsContract {
    public static final int CHUNK = 4096;

    protected final OpContext root = OpContext.root();
    protected final OpContext alice = OpContext.of(new Credentials(1000, 1000, new int[0]));
    protected final OpContext bob = OpContext.of(new Credentials(1001, 1001, new int[0]));

    /** The file system under test. */
    protected abstract Vfs vfs();

    /** The root directory of a fresh, empty file system with chunk size {@link #CHUNK}. */
    protected abstract FileHandle root();

    protected OpContext client(UUID id) {
        return new OpContext(Credentials.ROOT, "test", new RequestId(id, 1), null);
    }

    protected static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    protected void write(FileHandle h, long off, byte[] data) throws IOException {
        ByteBuf b = Unpooled.wrappedBuffer(data);
        try {
            assertEquals(data.length, vfs().write(root, h, off, b, false).count());
        } finally {
            b.release();
        }
    }

    protected byte[] read(FileHandle h, long off, int len) throws IOException {
        ReadResult r = vfs().read(root, h, off, len);
        try {
            byte[] out = new byte[r.data().readableBytes()];
            r.data().readBytes(out);
            return out;
        } finally {
            r.data().release();
        }
    }

    protected Entry file(String name) throws IOException {
        return vfs().create(root, root(), name, 0644, CreateMode.EXCLUSIVE);
    }

    @Test
    void createLookupGetattr() throws IOException {
        Entry e = file("a.txt");
        assertEquals(FileType.REGULAR, e.attributes().type());
        assertEquals(0644, e.attributes().mode());
        assertEquals(1, e.attributes().nlink());
        Entry l = vfs().lookup(root, root(), "a.txt");
        assertEquals(e.handle(), l.handle());
        assertEquals(e.attributes().inode(), vfs().getattr(root, e.handle()).inode());
        assertThrows(NoEntException.class, () -> vfs().lookup(root, root(), "missing"));
    }

    @Test
    void exclusiveCreateFailsOnExistingNameAndUncheckedOpensIt() throws IOException {
        Entry e = file("x");
        assertThrows(ExistException.class, () -> vfs().create(root, root(), "x", 0644, CreateMode.EXCLUSIVE));
        assertEquals(e.handle(), vfs().create(root, root(), "x", 0600, CreateMode.UNCHECKED).handle());
        vfs().mkdir(root, root(), "d", 0755);
        assertThrows(ExistException.class, () -> vfs().mkdir(root, root(), "d", 0755));
        assertThrows(IsDirException.class, () -> vfs().create(root, root(), "d", 0644, CreateMode.UNCHECKED));
    }

    @Test
    void namesLongerThan255BytesAreRefused() throws IOException {
        String ok = "n".repeat(255);
        file(ok);
        assertNotNull(vfs().lookup(root, root(), ok));
        assertThrows(NameTooLongException.class, () -> file("n".repeat(256)));
        assertThrows(NameTooLongException.class, () -> vfs().lookup(root, root(), "é".repeat(128)));
    }

    @ParameterizedTest
    @ValueSource(longs = {0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3L * CHUNK - 7, 5_000_000_000L})
    void writesAndReadsAcrossChunkEdges(long offset) throws IOException {
        Entry e = file("f" + offset);
        byte[] data = new byte[3 * CHUNK + 123];
        new Random(offset).nextBytes(data);
        write(e.handle(), offset, data);
        assertEquals(offset + data.length, vfs().getattr(root, e.handle()).size());
        assertArrayEquals(data, read(e.handle(), offset, data.length));
        if (offset > 0) {
            byte[] hole = read(e.handle(), Math.max(0, offset - 10), (int) Math.min(10, offset));
            assertArrayEquals(new byte[hole.length], hole, "hole before the data reads as zeros");
        }
        // An overwrite in the middle, not aligned, keeps the bytes around it.
        byte[] patch = bytes("PATCH");
        write(e.handle(), offset + CHUNK - 2, patch);
        System.arraycopy(patch, 0, data, CHUNK - 2, patch.length);
        assertArrayEquals(data, read(e.handle(), offset, data.length));
    }

    @Test
    void writeThenSetattrLeavesTheExplicitTimesAndTheData() throws IOException {
        Entry e = file("w+a");
        byte[] data = new byte[CHUNK + 10];
        java.util.Arrays.fill(data, (byte) 7);
        long mtime = 1_500_000_000_987_654_321L;
        ByteBuf b = Unpooled.wrappedBuffer(data);
        io.coffer.core.WriteResult r;
        try {
            r = vfs().writeThenSetattr(root, e.handle(), 0, b, true, new io.coffer.core.SetAttributes(0600, 1000, 100,
                    null, null, false, mtime, false));
        } finally {
            b.release();
        }
        assertEquals(data.length, r.count());
        assertTrue(r.stable());
        FileAttributes a = vfs().getattr(root, e.handle());
        assertEquals(a, r.attributes(), "the reply's attributes are those after the change");
        assertEquals(mtime, a.mtimeNanos());
        assertEquals(0600, a.mode());
        assertEquals(1000, a.uid());
        assertEquals(data.length, a.size());
        assertArrayEquals(data, read(e.handle(), 0, data.length));
        // Overwriting chunks that exist replaces them (the earlier bytes are gone).
        write(e.handle(), 5, bytes("xyz"));
        assertArrayEquals(bytes("xyz"), read(e.handle(), 5, 3));
        assertEquals(7, read(e.handle(), 8, 1)[0]);
    }

    @Test
    void aRefusedAttributeChangeLeavesTheWriteUndoneToo() throws IOException {
        Entry e = file("alices");
        vfs().setattr(root, e.handle(), io.coffer.core.SetAttributes.owner(1000, 1000));
        ByteBuf b = Unpooled.wrappedBuffer(bytes("data"));
        try {
            assertThrows(io.coffer.core.status.PermException.class, () -> vfs().writeThenSetattr(alice, e.handle(), 0, b,
                    true, io.coffer.core.SetAttributes.owner(1001, null)));
        } finally {
            b.release();
        }
        assertEquals(0, vfs().getattr(root, e.handle()).size(), "neither the data nor the change landed");
        assertEquals(1000, vfs().getattr(root, e.handle()).uid());
    }

    @Test
    void readPastEndReturnsShortOrEmpty() throws IOException {
        Entry e = file("short");
        write(e.handle(), 0, bytes("hello"));
        assertArrayEquals(bytes("lo"), read(e.handle(), 3, 100));
        assertEquals(0, read(e.handle(), 5, 100).length);
        assertEquals(0, read(e.handle(), 1000, 100).length);
    }

    /** st_blocks of a sparse file counts what its chunks hold, rounded to 4 KiB, not its size. */
    @Test
    void aSparseFileUsesOnlyWhatItStores() throws IOException {
        Entry e = file("sparse");
        FileHandle h = e.handle();
        assertEquals(0, vfs().getattr(root, h).usedBytes());
        vfs().setattr(root, h, SetAttributes.size(100L * CHUNK));
        assertEquals(0, vfs().getattr(root, h).usedBytes(), "a hole stores nothing");
        write(h, 10L * CHUNK, new byte[4096]);
        assertEquals(4096, vfs().getattr(root, h).usedBytes());
        write(h, 10L * CHUNK, new byte[4096]);
        assertEquals(4096, vfs().getattr(root, h).usedBytes(), "an overwrite stores nothing more");
        write(h, 10L * CHUNK + 5, new byte[10]);
        assertEquals(4096, vfs().getattr(root, h).usedBytes(), "nor does a small one inside the chunk");
        write(h, 10L * CHUNK + 4096, new byte[100]);
        assertEquals(8192, vfs().getattr(root, h).usedBytes(), "4,196 bytes, rounded up");
        write(h, 0, new byte[CHUNK]);
        write(h, 50L * CHUNK + CHUNK - 10, new byte[10]);
        FileAttributes a = vfs().getattr(root, h);
        assertEquals(CHUNK + 8192 + CHUNK, a.usedBytes(), "a chunk written at its end stores the zeros before it");
        assertEquals(100L * CHUNK, a.size());
        vfs().setattr(root, h, SetAttributes.size(10L * CHUNK + 100));
        assertEquals(CHUNK + 4096, vfs().getattr(root, h).usedBytes(), "cut chunks and the cut tail are freed");
        vfs().setattr(root, h, SetAttributes.size(CHUNK / 2));
        assertEquals(4096, vfs().getattr(root, h).usedBytes(), "half a chunk, rounded up");
        vfs().setattr(root, h, SetAttributes.size(0));
        vfs().setattr(root, h, SetAttributes.size(5L * CHUNK));
        assertEquals(0, vfs().getattr(root, h).usedBytes());
        Entry dense = file("dense");
        write(dense.handle(), 0, new byte[3 * CHUNK + 5]);
        assertEquals(3 * CHUNK + 4096, vfs().getattr(root, dense.handle()).usedBytes());
    }

    @Test
    void truncateDownThenUpReadsZeros() throws IOException {
        Entry e = file("t");
        byte[] data = new byte[2 * CHUNK + 100];
        new Random(1).nextBytes(data);
        write(e.handle(), 0, data);
        vfs().setattr(root, e.handle(), SetAttributes.size(CHUNK + 10));
        assertEquals(CHUNK + 10, vfs().getattr(root, e.handle()).size());
        vfs().setattr(root, e.handle(), SetAttributes.size(3 * CHUNK));
        byte[] back = read(e.handle(), 0, 3 * CHUNK);
        assertEquals(3 * CHUNK, back.length);
        for (int i = 0; i < CHUNK + 10; i++) {
            assertEquals(data[i], back[i]);
        }
        for (int i = CHUNK + 10; i < back.length; i++) {
            assertEquals(0, back[i], "byte " + i + " after truncate-extend must be zero");
        }
        vfs().setattr(root, e.handle(), SetAttributes.size(0));
        assertEquals(0, read(e.handle(), 0, 100).length);
    }

    @Test
    void directoriesAndTheirErrors() throws IOException {
        int rootLinks = vfs().getattr(root, root()).nlink();
        Entry d = vfs().mkdir(root, root(), "dir", 0755);
        assertEquals(FileType.DIRECTORY, d.attributes().type());
        assertEquals(2, d.attributes().nlink());
        assertEquals(rootLinks + 1, vfs().getattr(root, root()).nlink());
        vfs().mkdir(root, d.handle(), "sub", 0755);
        assertEquals(3, vfs().getattr(root, d.handle()).nlink());
        vfs().create(root, d.handle(), "f", 0644, CreateMode.EXCLUSIVE);
        assertThrows(NotEmptyException.class, () -> vfs().rmdir(root, root(), "dir"));
        assertThrows(IsDirException.class, () -> vfs().remove(root, root(), "dir"));
        assertThrows(NotDirException.class, () -> vfs().rmdir(root, d.handle(), "f"));
        Entry f = vfs().lookup(root, d.handle(), "f");
        assertThrows(NotDirException.class, () -> vfs().lookup(root, f.handle(), "x"));
        assertThrows(NotDirException.class, () -> vfs().create(root, f.handle(), "x", 0644, CreateMode.EXCLUSIVE));
        assertThrows(IsDirException.class, () -> vfs().read(root, d.handle(), 0, 10));
        vfs().remove(root, d.handle(), "f");
        vfs().rmdir(root, d.handle(), "sub");
        vfs().rmdir(root, root(), "dir");
        assertEquals(rootLinks, vfs().getattr(root, root()).nlink());
        assertThrows(StaleException.class, () -> vfs().getattr(root, d.handle()));
        assertThrows(NoEntException.class, () -> vfs().rmdir(root, root(), "dir"));
    }

    @Test
    void dotAndDotDot() throws IOException {
        Entry d = vfs().mkdir(root, root(), "p", 0755);
        assertEquals(d.handle(), vfs().lookup(root, d.handle(), ".").handle());
        assertEquals(root(), vfs().lookup(root, d.handle(), "..").handle());
        assertThrows(InvalException.class, () -> vfs().rmdir(root, d.handle(), "."));
        assertThrows(ExistException.class, () -> vfs().mkdir(root, d.handle(), "..", 0755));
    }

    @Test
    void renameReplacesAtomicallyAndMovesDirectories() throws IOException {
        Entry a = file("a");
        write(a.handle(), 0, bytes("AAA"));
        Entry b = file("b");
        write(b.handle(), 0, bytes("BBB"));
        vfs().rename(root, root(), "a", root(), "b");
        assertThrows(NoEntException.class, () -> vfs().lookup(root, root(), "a"));
        Entry nb = vfs().lookup(root, root(), "b");
        assertEquals(a.handle(), nb.handle());
        assertArrayEquals(bytes("AAA"), read(nb.handle(), 0, 10));
        assertThrows(StaleException.class, () -> vfs().getattr(root, b.handle()));

        Entry d1 = vfs().mkdir(root, root(), "d1", 0755);
        Entry d2 = vfs().mkdir(root, root(), "d2", 0755);
        Entry inner = vfs().mkdir(root, d1.handle(), "inner", 0755);
        vfs().rename(root, d1.handle(), "inner", d2.handle(), "moved");
        assertEquals(inner.handle(), vfs().lookup(root, d2.handle(), "moved").handle());
        assertEquals(d2.handle(), vfs().lookup(root, inner.handle(), "..").handle());
        assertEquals(2, vfs().getattr(root, d1.handle()).nlink());
        assertEquals(3, vfs().getattr(root, d2.handle()).nlink());
        assertThrows(InvalException.class, () -> vfs().rename(root, root(), "d2", inner.handle(), "loop"));
        vfs().mkdir(root, d1.handle(), "full", 0755);
        vfs().create(root, vfs().lookup(root, d1.handle(), "full").handle(), "x", 0644, CreateMode.EXCLUSIVE);
        assertThrows(NotEmptyException.class, () -> vfs().rename(root, d2.handle(), "moved", d1.handle(), "full"));
        assertThrows(NotDirException.class, () -> vfs().rename(root, root(), "d2", root(), "b"));
        assertThrows(IsDirException.class, () -> vfs().rename(root, root(), "b", root(), "d2"));
        // An empty directory may be replaced by a directory.
        vfs().mkdir(root, d1.handle(), "empty", 0755);
        vfs().rename(root, d2.handle(), "moved", d1.handle(), "empty");
        assertEquals(inner.handle(), vfs().lookup(root, d1.handle(), "empty").handle());
        assertThrows(NoEntException.class, () -> vfs().rename(root, root(), "nothing", root(), "x"));
    }

    @Test
    void renameOfOneFileOntoItsOtherNameDoesNothing() throws IOException {
        Entry a = file("one");
        vfs().link(root, a.handle(), root(), "two");
        vfs().rename(root, root(), "one", root(), "two");
        assertEquals(a.handle(), vfs().lookup(root, root(), "one").handle());
        assertEquals(2, vfs().getattr(root, a.handle()).nlink());
    }

    @Test
    void hardLinksCountAndSurviveRemovalOfOneName() throws IOException {
        Entry a = file("orig");
        write(a.handle(), 0, bytes("data"));
        Entry l = vfs().link(root, a.handle(), root(), "alias");
        assertEquals(2, l.attributes().nlink());
        vfs().remove(root, root(), "orig");
        assertEquals(1, vfs().getattr(root, a.handle()).nlink());
        assertArrayEquals(bytes("data"), read(a.handle(), 0, 10));
        Entry d = vfs().mkdir(root, root(), "dd", 0755);
        assertThrows(PermException.class, () -> vfs().link(root, d.handle(), root(), "dlink"));
        assertThrows(ExistException.class, () -> vfs().link(root, a.handle(), root(), "dd"));
    }

    @Test
    void symlinks() throws IOException {
        Entry s = vfs().symlink(root, root(), "ln", "../some/where");
        assertEquals(FileType.SYMLINK, s.attributes().type());
        assertEquals("../some/where".length(), s.attributes().size());
        assertEquals("../some/where", vfs().readlink(root, s.handle()));
        Entry f = file("plain");
        assertThrows(InvalException.class, () -> vfs().readlink(root, f.handle()));
    }

    @Test
    void specialFiles() throws IOException {
        Entry fifo = vfs().mknod(root, root(), "fifo", FileType.FIFO, 0644, 0);
        assertEquals(FileType.FIFO, fifo.attributes().type());
        assertThrows(PermException.class,
                () -> vfs().mknod(alice, root(), "dev", FileType.CHAR_DEVICE, 0644, 0x0103));
    }

    @Test
    void readdirPagesStablyThroughThousandsOfEntries() throws IOException {
        Entry d = vfs().mkdir(root, root(), "many", 0755);
        Set<String> expected = new HashSet<>();
        for (int i = 0; i < 2500; i++) {
            String n = "entry-" + i;
            vfs().create(root, d.handle(), n, 0644, CreateMode.EXCLUSIVE);
            expected.add(n);
        }
        Set<String> seen = new HashSet<>();
        long cookie = 0;
        int pages = 0;
        while (true) {
            DirListing l = vfs().readdir(root, d.handle(), cookie, 100);
            pages++;
            for (DirEntry e : l.entries()) {
                assertTrue(seen.add(e.name()), "entry listed twice: " + e.name());
                assertEquals(FileType.REGULAR, e.attributes().type());
                cookie = e.cookie();
            }
            if (pages == 3) {
                // Deleting entries already returned must not make the listing skip any others.
                for (int i = 0; i < 50; i++) {
                    vfs().remove(root, d.handle(), "entry-" + i);
                    expected.remove("entry-" + i);
                    seen.remove("entry-" + i);
                }
            }
            if (l.eof()) {
                break;
            }
        }
        assertEquals(expected, seen);
        assertTrue(pages >= 25);
    }

    @Test
    void permissionsAreEnforcedForOtherUsers() throws IOException {
        Entry priv = vfs().mkdir(root, root(), "private", 0700);
        vfs().setattr(root, root(), SetAttributes.mode(0777));
        assertThrows(AccessException.class, () -> vfs().lookup(alice, priv.handle(), "x"));
        assertThrows(AccessException.class, () -> vfs().create(alice, priv.handle(), "x", 0644, CreateMode.EXCLUSIVE));
        assertThrows(AccessException.class, () -> vfs().readdir(alice, priv.handle(), 0, 10));
        Entry mine = vfs().create(alice, root(), "alice.txt", 0600, CreateMode.EXCLUSIVE);
        assertEquals(1000, mine.attributes().uid());
        assertThrows(PermException.class, () -> vfs().setattr(bob, mine.handle(), SetAttributes.mode(0777)));
        assertThrows(PermException.class, () -> vfs().setattr(alice, mine.handle(), SetAttributes.owner(1001, null)));
        assertEquals(0640, vfs().setattr(alice, mine.handle(), SetAttributes.mode(0640)).mode());
        assertThrows(AccessException.class, () -> vfs().setattr(bob, mine.handle(), SetAttributes.size(0)));
        // The owner may truncate a file it made read-only (an ftruncate on a descriptor opened before).
        vfs().setattr(alice, mine.handle(), SetAttributes.mode(0400));
        assertEquals(0, vfs().setattr(alice, mine.handle(), SetAttributes.size(0)).size());
        assertThrows(AccessException.class, () -> vfs().setattr(bob, mine.handle(), SetAttributes.size(0)));
        vfs().setattr(alice, mine.handle(), SetAttributes.mode(0640));
        assertEquals(1001, vfs().setattr(root, mine.handle(), SetAttributes.owner(1001, 1001)).uid());
        // Sticky directory: bob may not remove alice's file.
        Entry tmp = vfs().mkdir(root, root(), "tmp", 01777);
        vfs().create(alice, tmp.handle(), "a", 0644, CreateMode.EXCLUSIVE);
        assertThrows(AccessException.class, () -> vfs().remove(bob, tmp.handle(), "a"));
        vfs().remove(alice, tmp.handle(), "a");
    }

    @Test
    void timesAreNanosecondsAndSettable() throws IOException {
        Entry e = file("times");
        long t = 1_700_000_000_123_456_789L;
        FileAttributes a = vfs().setattr(root, e.handle(), SetAttributes.times(t, false, t + 1, false));
        assertEquals(t, a.atimeNanos());
        assertEquals(t + 1, a.mtimeNanos());
        long before = vfs().getattr(root, e.handle()).ctimeNanos();
        write(e.handle(), 0, bytes("x"));
        FileAttributes after = vfs().getattr(root, e.handle());
        assertTrue(after.mtimeNanos() > t + 1);
        assertTrue(after.ctimeNanos() >= before);
        assertTrue(after.change() > a.change());
    }

    @Test
    void extendedAttributes() throws IOException {
        Entry e = file("xa");
        assertThrows(NoDataException.class, () -> vfs().getxattr(root, e.handle(), "user.missing"));
        vfs().setxattr(root, e.handle(), "user.color", bytes("blue"), XattrSetMode.ANY);
        assertArrayEquals(bytes("blue"), vfs().getxattr(root, e.handle(), "user.color"));
        assertThrows(ExistException.class,
                () -> vfs().setxattr(root, e.handle(), "user.color", bytes("red"), XattrSetMode.CREATE));
        assertThrows(NoDataException.class,
                () -> vfs().setxattr(root, e.handle(), "user.size", bytes("1"), XattrSetMode.REPLACE));
        vfs().setxattr(root, e.handle(), "user.color", bytes("red"), XattrSetMode.REPLACE);
        vfs().setxattr(root, e.handle(), "user.empty", new byte[0], XattrSetMode.ANY);
        assertEquals(List.of("user.color", "user.empty"), vfs().listxattr(root, e.handle()));
        vfs().removexattr(root, e.handle(), "user.color");
        assertThrows(NoDataException.class, () -> vfs().removexattr(root, e.handle(), "user.color"));
        assertEquals(List.of("user.empty"), vfs().listxattr(root, e.handle()));
        assertThrows(io.coffer.core.status.NotSupportedException.class,
                () -> vfs().setxattr(root, e.handle(), "system.posix_acl_access", new byte[4], XattrSetMode.ANY));
    }

    /**
     * Clients mount with FUSE_HANDLE_KILLPRIV_V2, so the server does what Linux's VFS would: a
     * write, truncate or chown removes the capabilities; an unprivileged write or truncate clears
     * set-user-ID, and set-group-ID when group execute is on; chown clears them for anyone.
     */
    @Test
    void writeTruncateAndChownDropPrivileges() throws IOException {
        byte[] caps = {1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        Entry w = file("capw");
        vfs().setxattr(root, w.handle(), "security.capability", caps, XattrSetMode.ANY);
        vfs().setxattr(root, w.handle(), "user.kept", bytes("1"), XattrSetMode.ANY);
        write(w.handle(), 0, bytes("x"));
        assertThrows(NoDataException.class, () -> vfs().getxattr(root, w.handle(), "security.capability"));
        assertArrayEquals(bytes("1"), vfs().getxattr(root, w.handle(), "user.kept"));
        // Given back after being dropped, and after a remove and set, it is dropped again.
        vfs().setxattr(root, w.handle(), "security.capability", caps, XattrSetMode.ANY);
        write(w.handle(), 1, bytes("y"));
        assertThrows(NoDataException.class, () -> vfs().getxattr(root, w.handle(), "security.capability"));
        vfs().setxattr(root, w.handle(), "security.capability", caps, XattrSetMode.ANY);
        vfs().removexattr(root, w.handle(), "security.capability");
        vfs().setxattr(root, w.handle(), "security.capability", caps, XattrSetMode.ANY);
        vfs().setattr(root, w.handle(), SetAttributes.size(1));
        assertThrows(NoDataException.class, () -> vfs().getxattr(root, w.handle(), "security.capability"));
        assertArrayEquals(bytes("1"), vfs().getxattr(root, w.handle(), "user.kept"));

        Entry t = file("capt");
        vfs().setxattr(root, t.handle(), "security.capability", caps, XattrSetMode.ANY);
        vfs().setattr(root, t.handle(), SetAttributes.size(0));
        assertThrows(NoDataException.class, () -> vfs().getxattr(root, t.handle(), "security.capability"));

        Entry c = file("capc");
        vfs().setxattr(root, c.handle(), "security.capability", caps, XattrSetMode.ANY);
        vfs().setattr(root, c.handle(), SetAttributes.mode(04755));
        vfs().setattr(root, c.handle(), SetAttributes.owner(1000, null));
        assertThrows(NoDataException.class, () -> vfs().getxattr(root, c.handle(), "security.capability"));
        assertEquals(0755, vfs().getattr(root, c.handle()).mode() & 07777);

        // Unprivileged writers: the owner, with a mode that lets them write.
        Entry s = file("suid");
        vfs().setattr(root, s.handle(), SetAttributes.owner(1000, 1000));
        vfs().setattr(root, s.handle(), SetAttributes.mode(06775));
        OpContext user = OpContext.of(new Credentials(1000, 1000, new int[0]));
        vfs().write(user, s.handle(), 0, Unpooled.wrappedBuffer(bytes("y")), false);
        assertEquals(0775, vfs().getattr(root, s.handle()).mode() & 07777);
        vfs().setattr(root, s.handle(), SetAttributes.mode(02765));
        vfs().write(user, s.handle(), 0, Unpooled.wrappedBuffer(bytes("z")), false);
        assertEquals(02765, vfs().getattr(root, s.handle()).mode() & 07777, "set-group-ID without group execute stays");
        vfs().setattr(root, s.handle(), SetAttributes.mode(04775));
        vfs().setattr(user, s.handle(), SetAttributes.size(0));
        assertEquals(0775, vfs().getattr(root, s.handle()).mode() & 07777);
        vfs().setattr(root, s.handle(), SetAttributes.mode(04775));
        write(s.handle(), 0, bytes("root"));
        assertEquals(04775, vfs().getattr(root, s.handle()).mode() & 07777, "root's writes keep the bits");
    }

    @Test
    void locksConflictBetweenOwnersAndNotWithinOne() throws IOException {
        Entry e = file("locked");
        UUID c1 = UUID.randomUUID();
        UUID c2 = UUID.randomUUID();
        LockRange w = new LockRange(LockType.WRITE, 0, 100, 1, 11, false);
        vfs().lock(client(c1), e.handle(), w);
        // The same owner may re-lock and change the type.
        vfs().lock(client(c1), e.handle(), new LockRange(LockType.READ, 0, 50, 1, 11, false));
        LockRange other = new LockRange(LockType.WRITE, 40, 10, 1, 22, false);
        assertThrows(AgainException.class, () -> vfs().lock(client(c2), e.handle(), other));
        LockRange conflict = vfs().testLock(client(c2), e.handle(), other);
        assertNotNull(conflict);
        assertEquals(11, conflict.pid());
        // Reads share.
        vfs().lock(client(c2), e.handle(), new LockRange(LockType.READ, 10, 10, 1, 22, false));
        // flock locks are independent of fcntl locks.
        vfs().lock(client(c2), e.handle(), new LockRange(LockType.WRITE, 0, 0, 7, 22, true));
        vfs().lock(client(c1), e.handle(), new LockRange(LockType.UNLOCK, 0, 0, 1, 11, false));
        vfs().lock(client(c2), e.handle(), new LockRange(LockType.UNLOCK, 0, 0, 1, 22, false));
        assertNull(vfs().testLock(client(c2), e.handle(), other));
        vfs().lock(client(c2), e.handle(), other);
    }

    @Test
    void manyFilesWithRandomContentSurviveInterleavedOperations() throws IOException {
        Random rnd = new Random(42);
        List<Entry> files = new ArrayList<>();
        List<byte[]> contents = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            Entry e = file("r" + i);
            byte[] d = new byte[rnd.nextInt(5 * CHUNK)];
            rnd.nextBytes(d);
            write(e.handle(), 0, d);
            files.add(e);
            contents.add(d);
        }
        for (int i = 0; i < 20; i++) {
            assertArrayEquals(contents.get(i), read(files.get(i).handle(), 0, 5 * CHUNK));
        }
        assertFalse(files.isEmpty());
    }
}
