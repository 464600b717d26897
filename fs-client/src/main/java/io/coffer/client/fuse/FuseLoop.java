package io.coffer.client.fuse;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.Struct;
import jnr.ffi.byref.IntByReference;
import jnr.ffi.byref.PointerByReference;
import jnr.ffi.types.size_t;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import ru.serce.jnrfuse.struct.FuseOperations;

/**
 * libfuse 2's request loop run on Java threads. jnr-fuse's mount runs libfuse's own
 * multithreaded loop, whose native threads enter the JVM through jffi closures; jffi attaches a
 * native thread for each callback and detaches it afterwards (until that thread has made 1,000
 * callbacks), which costs more than the whole callback. Here {@code fuse_setup} mounts and the
 * worker threads are Java threads that read requests ({@code fuse_chan_recv}) and process them
 * ({@code fuse_session_process}), so callbacks run on threads that are attached for good.
 */
final class FuseLoop {
    private static final Logger log = LoggerFactory.getLogger(FuseLoop.class);
    private static final int EINTR = 4;
    private static final int EAGAIN = 11;
    private static final int ENOENT = 2;

    /** The parts of libfuse 2's API that the loop needs (all exported by libfuse.so.2). */
    public interface LibFuseLoop {
        Pointer fuse_setup(int argc, String[] argv, FuseOperations op, @size_t long opSize, PointerByReference mountpoint,
                IntByReference multithreaded, Pointer userData);

        void fuse_teardown(Pointer fuse, Pointer mountpoint);

        Pointer fuse_get_session(Pointer fuse);

        Pointer fuse_session_next_chan(Pointer se, Pointer ch);

        @size_t
        long fuse_chan_bufsize(Pointer ch);

        /** @param ch a {@code struct fuse_chan **}: in, the channel to read; out, the one the request came on */
        int fuse_chan_recv(Pointer ch, Pointer buf, @size_t long size);

        void fuse_session_process(Pointer se, Pointer buf, @size_t long len, Pointer ch);

        int fuse_session_exited(Pointer se);

        int fuse_chan_fd(Pointer ch);

        /** Drops the kernel's cached attributes of node {@code ino} (and, with {@code off >= 0}, its pages). */
        int fuse_lowlevel_notify_inval_inode(Pointer ch, long ino, long off, long len);
    }

    /** READs and WRITEs the file system answers itself (see {@link RawRequest}). */
    interface RawRequests {
        /** Takes {@code r} and sees that it is answered; false leaves it to libfuse, unanswered. */
        boolean read(RawRequest r);

        /** The same for a WRITE, whose data must be taken before this returns. */
        boolean write(RawRequest r);
    }

    private static volatile LibFuseLoop lib;

    private static LibFuseLoop lib() {
        if (lib == null) {
            synchronized (FuseLoop.class) {
                if (lib == null) {
                    lib = LibraryLoader.create(LibFuseLoop.class).failImmediately().load("fuse");
                }
            }
        }
        return lib;
    }

    /**
     * Threads waiting for requests at once: two, so that one request at a time goes back and forth
     * between two threads (a {@code tar x} ~5% faster than with all twelve waiting, docs/performance.md)
     * and a second request arriving meanwhile is taken without waking anyone.
     */
    static final int READERS = 2;

    private FuseLoop() {
    }

    /**
     * Mounts {@code ops} on {@code mountpoint} with the given libfuse arguments (after the mount
     * point) and serves requests on {@code threads} Java threads until the file system is
     * unmounted or libfuse is told to exit (SIGTERM, SIGINT, SIGHUP).
     */
    static void run(FuseOperations ops, RawRequests raw, LinkedNodes links, Path mountpoint, List<String> fuseArgs,
            int threads) throws IOException {
        LibFuseLoop f = lib();
        List<String> argv = new ArrayList<>();
        argv.add("coffer");
        argv.add("-f");
        argv.add(mountpoint.toAbsolutePath().toString());
        argv.addAll(fuseArgs);
        PointerByReference mp = new PointerByReference();
        IntByReference multithreaded = new IntByReference();
        Pointer fuse = f.fuse_setup(argv.size(), argv.toArray(new String[0]), ops, Struct.size(ops), mp, multithreaded, null);
        if (fuse == null) {
            throw new IOException("libfuse could not mount " + mountpoint + " (see the lines it printed above)");
        }
        Pointer se = f.fuse_get_session(fuse);
        Pointer ch = f.fuse_session_next_chan(se, null);
        long bufsize = f.fuse_chan_bufsize(ch);
        Runtime runtime = Runtime.getSystemRuntime();
        // Only on nosuid mounts (the default): after a write clears set-user-ID the kernel may show
        // the old mode until the attribute timeout, harmless where the bit cannot take effect.
        // -Dcoffer.fuse.killpriv=false turns it off, to measure what it saves.
        KillPrivInit init = new KillPrivInit(!suidMount(fuseArgs)
                && !"false".equals(System.getProperty("coffer.fuse.killpriv")));
        // -Dcoffer.fuse.readers=N: threads waiting for requests at once (FuseReaders), to measure.
        FuseReaders readers = new FuseReaders(Math.max(1, Math.min(threads,
                Integer.getInteger("coffer.fuse.readers", READERS))));
        // -Dcoffer.fuse.raw=false sends READs and WRITEs through libfuse like every other request, to measure.
        RawRequest.Replies device = raw != null && !"false".equals(System.getProperty("coffer.fuse.raw"))
                && directBuffersHaveAddresses() ? new RawRequest.Device(f.fuse_chan_fd(ch)) : null;
        HookedChannel entries = new HookedChannel(ch, links::replied);
        links.invalidateWith(node -> f.fuse_lowlevel_notify_inval_inode(ch, node, -1, 0));
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(() -> serve(f, se, ch, bufsize, runtime, init, readers, raw, device, links,
                    entries), "fuse-" + i);
            t.setDaemon(true);
            workers.add(t);
            t.start();
        }
        // libfuse's signal handlers only set the session's exit flag; readers blocked in read(2) on
        // /dev/fuse do not see it, so a watcher unmounts, which wakes them all with ENODEV.
        Thread watcher = new Thread(() -> {
            while (workers.stream().anyMatch(Thread::isAlive)) {
                if (f.fuse_session_exited(se) != 0) {
                    lazyUnmount(mountpoint);
                    return;
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "fuse-exit-watch");
        watcher.setDaemon(true);
        watcher.start();
        for (Thread t : workers) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        watcher.interrupt();
        f.fuse_teardown(fuse, mp.getValue());
    }

    private static boolean directBuffersHaveAddresses() {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(1);
        try {
            return b.hasMemoryAddress();
        } finally {
            b.release();
        }
    }

    private static void serve(LibFuseLoop f, Pointer se, Pointer ch, long bufsize, Runtime runtime, KillPrivInit init,
            FuseReaders readers, RawRequests raw, RawRequest.Replies device, LinkedNodes links, HookedChannel entries) {
        Pointer buf = Memory.allocateDirect(runtime, (int) bufsize);
        Pointer chBox = Memory.allocateDirect(runtime, runtime.addressSize());
        boolean turn = false;
        try {
            while (f.fuse_session_exited(se) == 0) {
                if (!turn) {
                    if (!readers.awaitTurn()) {
                        break;
                    }
                    turn = true;
                }
                chBox.putPointer(0, ch);
                int res = f.fuse_chan_recv(chBox, buf, bufsize);
                if (res == -EINTR || res == -EAGAIN || res == -ENOENT) {
                    // ENOENT: the request was interrupted before we read it.
                    continue;
                }
                if (res <= 0) {
                    // 0 or ENODEV: the file system was unmounted.
                    break;
                }
                if (isForget(buf, res)) {
                    // No reply and little work (libfuse drops its node references): the thread
                    // stays a reader rather than waking another to take its place.
                    links.forgets(buf, res);
                    process(f, se, buf, res, chBox, init);
                    continue;
                }
                readers.took();
                turn = false;
                long linked = linkedNode(buf, res);
                int refused = device != null ? badName(buf, res) : 0;
                if (refused != 0) {
                    new RawRequest(buf.getInt(4), buf.getLong(8), 0, 0, 0, 0, 0, 0, null, device).error(refused);
                    continue;
                }
                RawRequest r = device != null ? RawRequest.parse(buf, res, device) : null;
                if (r != null && (r.opcode == RawRequest.FUSE_READ ? raw.read(r) : raw.write(r))) {
                    continue;
                }
                int op = buf.getInt(4);
                if (linked != 0) {
                    // The kernel takes LINK's answer for a new inode (see LinkedNodes) and keeps the
                    // old name's attributes, link count included: drop them before the answer (the
                    // caller's next stat then asks) and after it (in case a stat came in between).
                    f.fuse_lowlevel_notify_inval_inode(ch, linked, -1, 0);
                }
                if (LinkedNodes.answersWithEntry(op)) {
                    chBox.putPointer(0, entries.pointer());
                }
                process(f, se, buf, res, chBox, init);
                if (LinkedNodes.changesLinks(op)) {
                    links.answered(linked);
                }
                if (linked != 0) {
                    f.fuse_lowlevel_notify_inval_inode(ch, linked, -1, 0);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (turn) {
                readers.gaveUp();
            }
            // Only the end of the file system ends a thread: the ones waiting for a turn end too.
            readers.close();
        }
    }

    private static final int EILSEQ = 84;

    /**
     * The errno for a request that names something with bytes that are not UTF-8, else 0. Names
     * are UTF-8 on the wire and on the server, and jnr-fuse hands paths to the file system already
     * decoded, each bad sequence replaced by U+FFFD: {@code touch $'bad\xff'} made a file that
     * listed under another name, and two such names were one. So they are refused here, from the
     * kernel's bytes: EILSEQ for a new name or symlink target (as file systems that require UTF-8
     * answer), ENOENT for a lookup (no such name can exist). Struct sizes are protocol 7.12's and
     * later, which libfuse 2.9 speaks; a request not laid out as expected is left to libfuse.
     */
    static int badName(Pointer buf, int len) {
        if (len <= RawRequest.IN_HEADER) {
            return 0;
        }
        int op = buf.getInt(4);
        int at;
        int names;
        switch (op) {
            case RawRequest.FUSE_LOOKUP -> { at = RawRequest.IN_HEADER; names = 1; }
            case RawRequest.FUSE_SYMLINK -> { at = RawRequest.IN_HEADER; names = 2; }
            case RawRequest.FUSE_MKNOD, RawRequest.FUSE_CREATE -> { at = RawRequest.IN_HEADER + 16; names = 1; }
            case RawRequest.FUSE_MKDIR, RawRequest.FUSE_LINK -> { at = RawRequest.IN_HEADER + 8; names = 1; }
            case RawRequest.FUSE_RENAME -> { at = RawRequest.IN_HEADER + 8; names = 2; }
            default -> {
                return 0;
            }
        }
        for (int i = 0; i < names; i++) {
            int end = at;
            boolean ascii = true;
            while (end < len) {
                byte b = buf.getByte(end);
                if (b == 0) {
                    break;
                }
                ascii &= b >= 0;
                end++;
            }
            if (end >= len) {
                return 0;
            }
            if (!ascii && !isUtf8(buf, at, end - at)) {
                return op == RawRequest.FUSE_LOOKUP ? ENOENT : EILSEQ;
            }
            at = end + 1;
        }
        return 0;
    }

    private static boolean isUtf8(Pointer buf, int at, int n) {
        byte[] b = new byte[n];
        buf.get(at, b, 0, n);
        try {
            java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(b));
            return true;
        } catch (java.nio.charset.CharacterCodingException e) {
            return false;
        }
    }

    /** The node a LINK request links (struct fuse_link_in's oldnodeid, after the header), or 0. */
    static long linkedNode(Pointer buf, int len) {
        return len >= RawRequest.IN_HEADER + 8 && buf.getInt(4) == RawRequest.FUSE_LINK ? buf.getLong(RawRequest.IN_HEADER) : 0;
    }

    static final int FUSE_FORGET = 2;
    static final int FUSE_BATCH_FORGET = 42;

    /** Whether the request in {@code buf} is a FORGET or BATCH_FORGET (struct fuse_in_header's opcode, at offset 4). */
    static boolean isForget(Pointer buf, int len) {
        if (len < 8) {
            return false;
        }
        int op = buf.getInt(4);
        return op == FUSE_FORGET || op == FUSE_BATCH_FORGET;
    }

    private static void process(LibFuseLoop f, Pointer se, Pointer buf, int res, Pointer chBox, KillPrivInit init) {
        Pointer from = chBox.getPointer(0);
        if (init.wants(buf, res)) {
            // struct fuse_in_header's unique, at offset 8.
            from = init.channelFor(from, buf.getLong(8));
        }
        f.fuse_session_process(se, buf, res, from);
    }

    /** Whether libfuse arguments ask for a mount that honours set-user-ID ({@code -o suid} after any {@code nosuid}). */
    static boolean suidMount(List<String> fuseArgs) {
        boolean suid = false;
        for (int i = 0; i + 1 < fuseArgs.size(); i++) {
            if (fuseArgs.get(i).equals("-o")) {
                for (String o : fuseArgs.get(i + 1).split(",")) {
                    if (o.equals("suid")) {
                        suid = true;
                    } else if (o.equals("nosuid")) {
                        suid = false;
                    }
                }
            }
        }
        return suid;
    }

    private static void lazyUnmount(Path mountpoint) {
        String mp = mountpoint.toAbsolutePath().toString();
        for (String[] cmd : new String[][] {{"fusermount", "-u", "-z", mp}, {"umount", "-l", mp}}) {
            try {
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    return;
                }
            } catch (IOException e) {
                log.debug("{} failed: {}", cmd[0], e.toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        log.warn("could not unmount {} after the exit signal", mp);
    }
}
