package io.coffer.client.fuse;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicBoolean;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.types.intptr_t;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A FUSE READ or WRITE taken from the kernel's request buffer, answered by writing the reply to
 * {@code /dev/fuse} directly, from whichever thread has it. libfuse 2's high-level API answers
 * when the callback returns, so the FUSE thread that took a READ used to sleep through the
 * server's round trip and be woken to copy the answer out; now it goes back to reading requests
 * and the network thread that receives the answer writes it. Both also skip libfuse's
 * path-based dispatch (a path built under its tree lock, converted to a Java string), which an
 * open file's data does not need: the kernel names the open file by the handle we gave it.
 */
final class RawRequest {
    private static final Logger log = LoggerFactory.getLogger(RawRequest.class);

    static final int FUSE_READ = 15;
    static final int FUSE_WRITE = 16;
    /** Requests whose names {@link FuseLoop#badName} checks, and whose effect on link counts {@link LinkedNodes} follows. */
    static final int FUSE_LOOKUP = 1;
    static final int FUSE_SYMLINK = 6;
    static final int FUSE_MKNOD = 8;
    static final int FUSE_MKDIR = 9;
    static final int FUSE_UNLINK = 10;
    static final int FUSE_RENAME = 12;
    static final int FUSE_LINK = 13;
    static final int FUSE_CREATE = 35;
    /** struct fuse_in_header: len, opcode, unique, nodeid, uid, gid, pid, padding. */
    static final int IN_HEADER = 40;
    /** struct fuse_read_in's fh, offset and size (the same in every protocol minor). */
    static final int READ_IN_MIN = 20;
    /** struct fuse_write_in since protocol 7.9: fh, offset, size, write_flags, lock_owner, flags, padding. */
    static final int WRITE_IN = 40;
    /** struct fuse_out_header: len, error, unique. */
    static final int OUT_HEADER = 16;

    private static final int ENOENT = 2;
    private static final int ENODEV = 19;

    final int opcode;
    final long unique;
    final long fh;
    final long offset;
    final int size;
    final int uid;
    final int gid;
    final int pid;
    /** A WRITE's data, in the request buffer: valid only until the handler returns. */
    final Pointer data;
    private final Replies out;
    private final AtomicBoolean answered = new AtomicBoolean();

    RawRequest(int opcode, long unique, long fh, long offset, int size, int uid, int gid, int pid, Pointer data,
            Replies out) {
        this.opcode = opcode;
        this.unique = unique;
        this.fh = fh;
        this.offset = offset;
        this.size = size;
        this.uid = uid;
        this.gid = gid;
        this.pid = pid;
        this.data = data;
        this.out = out;
    }

    /**
     * The READ or WRITE in a request buffer of {@code len} bytes, or null if the request is
     * something else or not laid out as expected (libfuse then handles it).
     */
    static RawRequest parse(Pointer buf, int len, Replies out) {
        if (len < IN_HEADER + READ_IN_MIN) {
            return null;
        }
        int opcode = buf.getInt(4);
        int size = buf.getInt(IN_HEADER + 16);
        if (size < 0 || (opcode != FUSE_READ && opcode != FUSE_WRITE)) {
            return null;
        }
        Pointer data = null;
        if (opcode == FUSE_WRITE) {
            // Before 7.9 the write_in was 24 bytes: the length tells which layout the kernel used.
            if (len != IN_HEADER + WRITE_IN + size || buf.getInt(0) != len) {
                return null;
            }
            data = buf.slice(IN_HEADER + WRITE_IN, size);
        }
        return new RawRequest(opcode, buf.getLong(8), buf.getLong(IN_HEADER), buf.getLong(IN_HEADER + 8), size,
                buf.getInt(24), buf.getInt(28), buf.getInt(32), data, out);
    }

    /**
     * A buffer for the answer, with room for the reply header in front: write the data after its
     * writer index and pass it to {@link #reply(ByteBuf)}.
     */
    ByteBuf buffer() {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(OUT_HEADER + size);
        b.writerIndex(OUT_HEADER);
        return b;
    }

    /** Answers with the data after the header room of a buffer from {@link #buffer()}, and releases it. */
    void reply(ByteBuf b) {
        try {
            if (!answered.compareAndSet(false, true)) {
                log.error("request {} answered twice; the second answer is dropped", unique);
                return;
            }
            header(b, b.readableBytes(), 0, unique);
            out.send(b, unique);
        } finally {
            b.release();
        }
    }

    /** The kernel reads its structs in the machine's own byte order. */
    private static void header(ByteBuf b, int len, int error, long unique) {
        if (NATIVE_LE) {
            b.setIntLE(0, len);
            b.setIntLE(4, error);
            b.setLongLE(8, unique);
        } else {
            b.setInt(0, len);
            b.setInt(4, error);
            b.setLong(8, unique);
        }
    }

    private static final boolean NATIVE_LE = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    /** Answers with {@code len} bytes of {@code data} from {@code index}. */
    void reply(ByteBuf data, int index, int len) {
        ByteBuf b = buffer();
        b.writeBytes(data, index, Math.min(len, size));
        reply(b);
    }

    /** Answers a WRITE: {@code n} bytes taken (struct fuse_write_out: size, padding). */
    void written(int n) {
        if (!answered.compareAndSet(false, true)) {
            log.error("request {} answered twice; the second answer is dropped", unique);
            return;
        }
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(OUT_HEADER + 8);
        try {
            b.writerIndex(OUT_HEADER + 8);
            header(b, OUT_HEADER + 8, 0, unique);
            if (NATIVE_LE) {
                b.setIntLE(OUT_HEADER, n);
                b.setIntLE(OUT_HEADER + 4, 0);
            } else {
                b.setInt(OUT_HEADER, n);
                b.setInt(OUT_HEADER + 4, 0);
            }
            out.send(b, unique);
        } finally {
            b.release();
        }
    }

    /** Answers with an error, {@code errno} positive. */
    void error(int errno) {
        if (!answered.compareAndSet(false, true)) {
            log.error("request {} answered twice; the second answer is dropped", unique);
            return;
        }
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(OUT_HEADER);
        try {
            b.writerIndex(OUT_HEADER);
            header(b, OUT_HEADER, -errno, unique);
            out.send(b, unique);
        } finally {
            b.release();
        }
    }

    /** Where answers go: the kernel's device, or a test's collector. */
    interface Replies {
        /** Writes the whole reply in {@code b} (header included) as one message. */
        void send(ByteBuf b, long unique);
    }

    /** The parts of libc the device needs. */
    public interface LibC {
        @SaveError
        @ssize_t
        long write(int fd, @intptr_t long buf, @size_t long count);
    }

    /** Replies written to {@code /dev/fuse}, one {@code write(2)} each as the kernel requires. */
    static final class Device implements Replies {
        private final int fd;
        private final LibC libc;
        private final Runtime runtime;

        Device(int fd) {
            this.fd = fd;
            this.libc = LibraryLoader.create(LibC.class).failImmediately().load("c");
            this.runtime = Runtime.getRuntime(libc);
        }

        @Override
        public void send(ByteBuf b, long unique) {
            int len = b.readableBytes();
            long n = libc.write(fd, b.memoryAddress() + b.readerIndex(), len);
            if (n == len) {
                return;
            }
            int errno = n < 0 ? runtime.getLastError() : 0;
            if (errno == ENOENT || errno == ENODEV) {
                // ENOENT: the caller was interrupted and the kernel dropped the request; ENODEV: unmounted.
                log.debug("reply to request {} not taken: errno {}", unique, errno);
            } else {
                log.error("writing the reply to request {} failed: returned {}, errno {}", unique, n, errno);
            }
        }
    }
}
