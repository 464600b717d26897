package io.coffer.client.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.client.RemoteFs;
import io.coffer.client.RpcClient;
import io.coffer.core.CreateMode;
import io.coffer.core.Credentials;
import io.coffer.core.Entry;
import io.coffer.core.FileAttributes;
import io.coffer.core.FileHandle;
import io.coffer.core.FileSystemId;
import io.coffer.core.OpContext;
import io.coffer.core.ReadResult;
import io.coffer.core.SetAttributes;
import io.coffer.core.rpc.Op;
import io.coffer.server.CofferServer;
import io.coffer.client.LoopbackServer;
import io.netty.buffer.ByteBuf;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Write-behind against a real server: how many round trips a close costs, and that what a close
 * acknowledged is there after the server restarts.
 */
class FileStateTest {
    @TempDir
    Path dir;
    CofferServer server;
    RpcClient rpc;
    RemoteFs fs;
    Entry root;
    int port;

    @BeforeEach
    void start() throws IOException {
        server = newServer(0);
        port = server.address().getPort();
        String fsId = server.fileSystems().createFileSystem("t", true, null, 0, "test").id();
        rpc = new RpcClient(RpcClient.Options.of("127.0.0.1", port));
        rpc.connect(5000);
        fs = new RemoteFs(rpc);
        root = fs.mount(OpContext.root(), FileSystemId.parse(fsId), "/");
    }

    private CofferServer newServer(int p) throws IOException {
        return LoopbackServer.start(dir.resolve("data"), p);
    }

    @AfterEach
    void stop() throws IOException {
        if (rpc != null) {
            rpc.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** A new file and the write-behind state a mount would give it. */
    private record Opened(Entry entry, FileState state) {
    }

    private Opened open(String name) throws IOException {
        Entry e = fs.create(OpContext.root(), root.handle(), name, 0644, CreateMode.EXCLUSIVE);
        FileState s = new FileState(e.handle(), fs, new WriteBudget(16 << 20, () -> { }));
        s.writers = 1;
        return new Opened(e, s);
    }

    private static final Credentials ROOT = OpContext.root().credentials();
    private static final long MTIME = 1_756_065_323_000_000_000L;

    /** What tar does after writing a file's data: utimensat, fchown, fchmod. */
    private static SetAttributes[] tarsChanges() {
        return new SetAttributes[] {SetAttributes.times(null, false, MTIME, false), SetAttributes.owner(1000, 100),
                SetAttributes.mode(0640)};
    }

    private long mutations() {
        return rpc.callCount(Op.WRITE) + rpc.callCount(Op.SETATTR) + rpc.callCount(Op.COMMIT)
                + rpc.callCount(Op.WRITE_SETATTR);
    }

    private void write(FileState s, long offset, byte[] data) throws IOException {
        s.write(OpContext.root().credentials(), offset, data.length, dst -> dst.writeBytes(data));
    }

    private byte[] readAll(FileHandle h, int size) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (out.size() < size) {
            ReadResult r = fs.read(OpContext.root(), h, out.size(), 1 << 20);
            ByteBuf d = r.data();
            try {
                if (d.readableBytes() == 0) {
                    break;
                }
                byte[] b = new byte[d.readableBytes()];
                d.readBytes(b);
                out.write(b);
            } finally {
                d.release();
            }
        }
        return out.toByteArray();
    }

    /** Restarts the server on the same data and port; the client reconnects by itself. */
    private void restartServer() throws IOException {
        server.close();
        server = newServer(port);
    }

    /**
     * A few bytes written take a buffer of about their size, which grows as writes join it:
     * thousands of files held open with a line written to each must not hold 16 KiB apiece.
     */
    @Test
    void aSmallWriteHoldsABufferOfItsSize() throws Exception {
        Opened f = open("line");
        write(f.state(), 0, random(1, 1));
        assertTrue(f.state().gatheringCapacity() <= 64, "capacity " + f.state().gatheringCapacity());
        byte[] all = random(300_000, 2);
        write(f.state(), 1, java.util.Arrays.copyOfRange(all, 1, 4096));
        for (int at = 4096; at < all.length; at += 4096) {
            write(f.state(), at, java.util.Arrays.copyOfRange(all, at, Math.min(all.length, at + 4096)));
        }
        write(f.state(), 0, new byte[] {all[0]});
        f.state().flush();
        assertArrayEquals(all, readAll(f.entry().handle(), all.length));
    }

    @Test
    void closingASmallFileWritesItStableInOneRoundTrip() throws Exception {
        Opened f = open("small");
        Entry e = f.entry();
        FileState s = f.state();
        byte[] data = random(9000, 1);
        write(s, 0, data);
        long writes = rpc.callCount(Op.WRITE);
        long commits = rpc.callCount(Op.COMMIT);
        s.flush();
        assertEquals(1, rpc.callCount(Op.WRITE) - writes, "one WRITE");
        assertEquals(0, rpc.callCount(Op.COMMIT) - commits, "no COMMIT after a stable WRITE");
        restartServer();
        assertArrayEquals(data, readAll(e.handle(), data.length));
    }

    @Test
    void bytesLeftWaitingAreSentOnceOlderThanTheCutoffWhileTheFileStaysOpen() throws Exception {
        Opened f = open("log");
        FileHandle h = f.entry().handle();
        FileState s = f.state();
        byte[] line = "a line of a log kept open\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        long before = System.nanoTime();
        write(s, 0, line);
        long writes = rpc.callCount(Op.WRITE);
        assertFalse(s.sendIfOlderThan(before - 1), "a run begun after the cutoff waits");
        assertEquals(writes, rpc.callCount(Op.WRITE));
        assertEquals(0, readAll(h, line.length).length, "nothing on the server yet");
        assertTrue(s.sendIfOlderThan(System.nanoTime()), "a run begun before the cutoff is sent");
        assertEquals(1, rpc.callCount(Op.WRITE) - writes);
        assertFalse(s.sendIfOlderThan(System.nanoTime()), "nothing is left to send");
        long t0 = System.nanoTime();
        while (readAll(h, line.length).length < line.length && System.nanoTime() - t0 < 10_000_000_000L) {
            Thread.sleep(20);
        }
        assertArrayEquals(line, readAll(h, line.length), "the server has the line while the file is open");
        // The next append starts a new run; the close sends it and makes both durable.
        write(s, line.length, line);
        assertTrue(s.dirty());
        s.flush();
        restartServer();
        byte[] both = new byte[2 * line.length];
        System.arraycopy(line, 0, both, 0, line.length);
        System.arraycopy(line, 0, both, line.length, line.length);
        assertArrayEquals(both, readAll(h, both.length));
    }

    @Test
    void aSetattrBeforeCloseWritesStableSoTheCloseHasNothingToCommit() throws Exception {
        Opened f = open("tarred");
        Entry e = f.entry();
        FileState s = f.state();
        byte[] data = random(20_000, 2);
        write(s, 0, data);
        long writes = rpc.callCount(Op.WRITE);
        long commits = rpc.callCount(Op.COMMIT);
        s.drain(); // what a SETATTR (tar's utimensat, fchown, fchmod) does first
        s.flush(); // the close
        assertEquals(1, rpc.callCount(Op.WRITE) - writes);
        assertEquals(0, rpc.callCount(Op.COMMIT) - commits);
        restartServer();
        assertArrayEquals(data, readAll(e.handle(), data.length));
    }

    @Test
    void aStreamStillWritesUnstableAndCommitsAtClose() throws Exception {
        Opened f = open("stream");
        Entry e = f.entry();
        FileState s = f.state();
        byte[] data = random(3 << 20, 3);
        long writes = rpc.callCount(Op.WRITE);
        long commits = rpc.callCount(Op.COMMIT);
        for (int off = 0; off < data.length; off += 128 * 1024) {
            write(s, off, java.util.Arrays.copyOfRange(data, off, off + 128 * 1024));
        }
        s.flush();
        assertTrue(rpc.callCount(Op.WRITE) - writes >= 3, "the stream went out in several WRITEs");
        assertTrue(rpc.callCount(Op.COMMIT) - commits >= 1, "and was made durable by a COMMIT");
        restartServer();
        assertArrayEquals(data, readAll(e.handle(), data.length));
    }

    @Test
    void tarsAttributeChangesGoWithTheDataInOneCallAtClose() throws Exception {
        Opened f = open("held");
        FileState s = f.state();
        byte[] data = random(1228, 4);
        write(s, 0, data);
        long before = mutations();
        for (SetAttributes c : tarsChanges()) {
            FileAttributes seen = s.overlay(fs.getattr(OpContext.root(), f.entry().handle()));
            assertTrue(s.defer(ROOT, c, seen), "held: " + c);
        }
        assertEquals(before, mutations(), "nothing sent before the close");
        FileAttributes seen = s.overlay(fs.getattr(OpContext.root(), f.entry().handle()));
        assertEquals(0640, seen.mode());
        assertEquals(1000, seen.uid());
        assertEquals(MTIME, seen.mtimeNanos(), "the held mtime shows");
        assertEquals(data.length, seen.size());

        FileAttributes after = s.flush();
        assertEquals(1, rpc.callCount(Op.WRITE_SETATTR) + rpc.callCount(Op.WRITE) + rpc.callCount(Op.SETATTR)
                + rpc.callCount(Op.COMMIT) - before, "one call at close");
        assertEquals(1, rpc.callCount(Op.WRITE_SETATTR));
        assertNotNull(after);
        restartServer();
        FileAttributes server = fs.getattr(OpContext.root(), f.entry().handle());
        assertEquals(0640, server.mode());
        assertEquals(1000, server.uid());
        assertEquals(100, server.gid());
        assertEquals(MTIME, server.mtimeNanos(), "the explicit mtime wins over the write's");
        assertEquals(after.change(), server.change());
        assertArrayEquals(data, readAll(f.entry().handle(), data.length));
    }

    @Test
    void heldChangesOfAnEmptyFileGoAsOneSetattr() throws Exception {
        Opened f = open("empty");
        FileState s = f.state();
        for (SetAttributes c : tarsChanges()) {
            assertTrue(s.defer(ROOT, c, s.overlay(f.entry().attributes())));
        }
        assertTrue(s.dirty(), "held changes need a flush");
        long setattrs = rpc.callCount(Op.SETATTR);
        s.flush();
        assertEquals(1, rpc.callCount(Op.SETATTR) - setattrs);
        FileAttributes server = fs.getattr(OpContext.root(), f.entry().handle());
        assertEquals(0640, server.mode());
        assertEquals(MTIME, server.mtimeNanos());
        assertFalse(s.dirty());
    }

    @Test
    void aWriteAfterHeldTimesSendsThemFirstSoTheWriteStampsItsOwnTime() throws Exception {
        Opened f = open("touched-then-written");
        FileState s = f.state();
        write(s, 0, random(100, 5));
        assertTrue(s.defer(ROOT, SetAttributes.times(null, false, MTIME, false), s.overlay(f.entry().attributes())));
        // What CofferFuse.write does before accepting data when changes are held.
        s.drain();
        assertFalse(s.holdsAttributes());
        write(s, 100, random(100, 6));
        s.flush();
        FileAttributes server = fs.getattr(OpContext.root(), f.entry().handle());
        assertTrue(server.mtimeNanos() > MTIME, "the later write moved mtime past the explicit one");
        assertEquals(200, server.size());
    }

    @Test
    void changesWhoseOutcomeTheClientCannotPredictAreNotHeld() throws Exception {
        Opened f = open("unpredictable");
        FileState s = f.state();
        FileAttributes a = f.entry().attributes();
        Credentials user = new Credentials(1000, 100, new int[0]);
        assertFalse(s.defer(user, SetAttributes.mode(0600), a), "not the owner (root owns it)");
        assertFalse(s.defer(user, SetAttributes.owner(1000, null), a), "only root changes owners");
        FileAttributes setuid = new FileAttributes(a.type(), 04755, a.nlink(), a.uid(), a.gid(), a.size(), a.usedBytes(),
                a.rdev(), a.inode(), a.atimeNanos(), a.mtimeNanos(), a.ctimeNanos(), a.change());
        assertFalse(s.defer(ROOT, SetAttributes.owner(1000, 100), setuid), "chown would clear set-ID bits");
        assertFalse(s.defer(ROOT, SetAttributes.size(0), a), "truncation is never held");
        assertTrue(s.defer(ROOT, SetAttributes.mode(0600), a));
        assertFalse(s.defer(user, SetAttributes.times(null, true, null, true), a), "other credentials than the held");
        s.writers = 0;
        s.flush();
        assertFalse(s.defer(ROOT, SetAttributes.mode(0644), a), "not open for writing");
    }

    /** A file's write-behind with a budget of its own that relieves itself as a mount's does. */
    private record Budgeted(FileHandle handle, FileState state, WriteBudget budget) {
    }

    private Budgeted openBudgeted(String name, int bytes) throws IOException {
        Entry e = fs.create(OpContext.root(), root.handle(), name, 0644, CreateMode.EXCLUSIVE);
        java.util.concurrent.atomic.AtomicReference<FileState> ref = new java.util.concurrent.atomic.AtomicReference<>();
        WriteBudget budget = new WriteBudget(bytes, () -> {
            FileState s = ref.get();
            s.sendPendingNow();
            s.commitInBackground();
        });
        FileState s = new FileState(e.handle(), fs, budget);
        ref.set(s);
        s.writers = 1;
        return new Budgeted(e.handle(), s, budget);
    }

    @Test
    void rewritesOfGatheredBytesJoinTheRunAndGoOutAsOneWrite() throws Exception {
        Budgeted f = openBudgeted("header", 8 << 20);
        FileState s = f.state();
        byte[] model = random(100, 8);
        write(s, 0, model);
        long calls = rpc.callCount(Op.WRITE) + rpc.callCount(Op.WRITE_SETATTR);
        Random r = new Random(9);
        for (int i = 0; i < 20_000; i++) {
            // Single bytes over what is gathered, and now and then a write across its end.
            int off = i % 1000 == 999 ? model.length - 1 : r.nextInt(model.length);
            byte[] d = random(off == model.length - 1 ? 3 : 1, i);
            write(s, off, d);
            if (off + d.length > model.length) {
                model = java.util.Arrays.copyOf(model, off + d.length);
            }
            System.arraycopy(d, 0, model, off, d.length);
        }
        assertEquals(0, s.records(), "nothing sent while the writes land on gathered bytes");
        s.flush();
        assertEquals(1, rpc.callCount(Op.WRITE) + rpc.callCount(Op.WRITE_SETATTR) - calls, "one write at close");
        assertEquals(f.budget().total(), f.budget().available(), "every charge given back");
        restartServer();
        assertArrayEquals(model, readAll(f.handle(), model.length + 1));
    }

    @Test
    void singleBytesAtScatteredOffsetsAreBoundedByTheirRecordsNotTheirBytes() throws Exception {
        int budget = 8 << 20;
        Budgeted f = openBudgeted("scattered", budget);
        FileState s = f.state();
        // Two regions in turn, so that no write lands on the run gathered before it; each byte
        // is rewritten many times while its earlier writes may still be in flight.
        byte[] model = new byte[(1 << 20) + 1];
        int most = 0;
        for (int i = 0; i < 40_000; i++) {
            int k = (i / 2) % 64;
            int off = (i & 1) == 0 ? k : (1 << 20) - k;
            byte v = (byte) (i * 31 + 7);
            write(s, off, new byte[] {v});
            model[off] = v;
            most = Math.max(most, s.records());
        }
        assertTrue(most <= budget / FileState.RECORD_COST, most + " records held at once");
        s.flush();
        assertEquals(0, s.records());
        assertEquals(f.budget().total(), f.budget().available(), "every charge given back");
        restartServer();
        assertArrayEquals(model, readAll(f.handle(), model.length + 1), "the last write of each byte won");
    }

    @Test
    void aWriteInFlightWhenOlderOnesAreSentAgainStaysNewer() throws Exception {
        Budgeted f = openBudgeted("again", 16 << 20);
        FileState s = f.state();
        byte[] older = random(1 << 20, 10);
        write(s, 0, older);
        write(s, 4 << 20, random(10, 11));
        s.drain();
        assertEquals(2, s.records(), "both writes landed and await a COMMIT");
        restartServer();
        // The COMMIT finds the older writes made under the old server's verifier and sends them
        // again; the newer write of the same bytes goes out meanwhile, so it is in flight then.
        s.commitInBackground();
        byte[] newer = random(1 << 20, 12);
        write(s, 0, newer);
        s.sendPendingNow();
        s.flush();
        assertEquals(0, s.records());
        assertArrayEquals(newer, readAll(f.handle(), newer.length), "the newer bytes won");
        restartServer();
        assertArrayEquals(newer, readAll(f.handle(), newer.length), "and are durable");
    }

    @Test
    void aShortAnswerBelowWhatThisClientWroteIsAHole() {
        // The server's file ends at 100; this client has written up to 5000 (not yet landed).
        assertEquals(4096 - 100, FileState.holeAfter(0, 4096, 100, 5000), "zeros to the end of the read");
        assertEquals(5000 - 4096 - 100, FileState.holeAfter(4096, 4096, 100, 5000), "zeros to what was written");
        assertEquals(0, FileState.holeAfter(0, 4096, 4096, 5000), "a full answer");
        assertEquals(0, FileState.holeAfter(0, 4096, 100, -1), "nothing written: the end is the end");
        assertEquals(0, FileState.holeAfter(8192, 4096, 0, 5000), "past what was written: the end");
    }

    @Test
    void aRefusedHeldChangeFailsTheCloseAndIsNotRetried() throws Exception {
        Opened f = open("refused");
        FileState s = f.state();
        write(s, 0, random(10, 7));
        // Another process removes the file before the close: the held change cannot land.
        fs.remove(OpContext.root(), root.handle(), "refused");
        assertTrue(s.defer(ROOT, SetAttributes.mode(0600), f.entry().attributes()));
        assertThrows(IOException.class, s::flush, "the file is gone: the close reports it");
        assertFalse(s.dirty(), "nothing left to retry");
    }
}
