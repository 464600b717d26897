package io.coffer.client.fuse;

import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.Delegate;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * A copy of libfuse 2's channel whose replies are shown to Java before they are written to
 * {@code /dev/fuse}, as libfuse's own send function writes them (one writev). libfuse 2's
 * high-level API offers no other way to see or amend what it answers; a request processed on
 * the copy ({@code fuse_session_process}'s last argument) is answered through it, every other
 * request through libfuse's channel untouched.
 */
final class HookedChannel {
    /** libfuse 2.9's struct fuse_chan on LP64: ops {receive, send, destroy}, se, fd, bufsize, data, compat. */
    static final int CHAN_SEND = 8;
    static final int CHAN_FD = 32;
    static final int CHAN_SIZE = 64;

    /** libfuse's channel send function: {@code int (*send)(struct fuse_chan *, const struct iovec[], size_t)}. */
    public interface Send {
        @Delegate
        int send(Pointer ch, Pointer iov, @size_t long count);
    }

    public interface LibC {
        @SaveError
        @ssize_t
        long writev(int fd, Pointer iov, int count);
    }

    /** Sees (and may change) a reply, an array of {@code count} struct iovec, before it is written. */
    @FunctionalInterface
    interface Reply {
        void seen(Pointer iov, long count);
    }

    private static volatile LibC libc;

    // Held so that neither the closure nor the copy is collected while libfuse may use them.
    private final Send send;
    private final Pointer channel;

    HookedChannel(Pointer ch, Reply reply) {
        Runtime rt = Runtime.getSystemRuntime();
        if (libc == null) {
            libc = LibraryLoader.create(LibC.class).failImmediately().load("c");
        }
        LibC c = libc;
        int fd = ch.getInt(CHAN_FD);
        send = (self, iov, count) -> {
            if (iov == null) {
                // As libfuse's own send: nothing to write.
                return 0;
            }
            reply.seen(iov, count);
            long n = c.writev(fd, iov, (int) count);
            // libfuse's send answers 0 or -errno (ENOENT: the request was interrupted meanwhile).
            return n < 0 ? -LastError.getLastError(rt) : 0;
        };
        channel = Memory.allocateDirect(rt, CHAN_SIZE);
        channel.transferFrom(0, ch, 0, CHAN_SIZE);
        channel.putPointer(CHAN_SEND, rt.getClosureManager().getClosurePointer(Send.class, send));
    }

    /** The copy, to pass where libfuse takes a {@code struct fuse_chan *}. */
    Pointer pointer() {
        return channel;
    }
}
