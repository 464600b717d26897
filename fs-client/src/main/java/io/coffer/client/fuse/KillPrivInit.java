package io.coffer.client.fuse;

import java.util.concurrent.atomic.AtomicBoolean;
import jnr.ffi.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers the kernel's INIT with {@code FUSE_HANDLE_KILLPRIV_V2} added to what libfuse 2 offers.
 *
 * <p>Why: without it the kernel cannot remember that a file has no {@code security.capability}
 * (it sets {@code SB_NOSEC} only for file systems that take the flag), so it asks for that
 * attribute before every write and every chown, a FUSE round trip each: one extra request per
 * 128 KiB of a stream and per small random write. With the flag the kernel asks once and
 * remembers the answer until the file's attributes are next refreshed, and leaves clearing
 * set-user-ID, set-group-ID and capabilities on write, truncate and chown to the file system,
 * which the server does (docs/operations.md). libfuse 2.9 speaks protocol 7.19 and knows no such
 * flag, so the INIT request alone is processed on a copy of the channel whose send function adds
 * it to the reply; every other request goes through libfuse's own channel untouched.
 */
final class KillPrivInit {
    private static final Logger log = LoggerFactory.getLogger(KillPrivInit.class);

    static final int FUSE_INIT = 26;
    static final int FUSE_HANDLE_KILLPRIV_V2 = 1 << 28;
    /** struct fuse_in_header: len, opcode, unique, nodeid, uid, gid, pid, padding. */
    static final int IN_HEADER = 40;
    /** Offset of flags in struct fuse_init_in and fuse_init_out (after major, minor, max_readahead). */
    static final int INIT_FLAGS = 12;

    private final AtomicBoolean done = new AtomicBoolean();
    private final boolean enabled;
    // Held so that the copy is not collected while libfuse may use it.
    private HookedChannel channel;

    KillPrivInit(boolean enabled) {
        this.enabled = enabled;
    }

    /** Whether {@code buf} holds the kernel's INIT, which this object has not yet seen, and the kernel offers the flag. */
    boolean wants(Pointer buf, int len) {
        return enabled && len >= IN_HEADER + INIT_FLAGS + 4 && buf.getInt(4) == FUSE_INIT
                && (buf.getInt(IN_HEADER + INIT_FLAGS) & FUSE_HANDLE_KILLPRIV_V2) != 0 && !done.get();
    }

    /**
     * A channel that writes to {@code ch}'s descriptor like libfuse's own, but adds the flag to the
     * reply to the request {@code unique}.
     */
    Pointer channelFor(Pointer ch, long unique) {
        channel = new HookedChannel(ch, (iov, count) -> {
            if (count >= 2 && addFlag(iov, unique)) {
                done.set(true);
                log.debug("INIT answered with FUSE_HANDLE_KILLPRIV_V2");
            }
        });
        return channel.pointer();
    }

    /**
     * Sets the flag in a successful reply to {@code unique} made of a header (iov[0]) and a
     * struct fuse_init_out (iov[1]); returns whether it did.
     */
    static boolean addFlag(Pointer iov, long unique) {
        Pointer header = iov.getPointer(0);
        long headerLen = iov.getLong(8);
        Pointer arg = iov.getPointer(16);
        long argLen = iov.getLong(24);
        if (header == null || arg == null || headerLen < 16 || argLen < INIT_FLAGS + 4) {
            return false;
        }
        // struct fuse_out_header: len, error, unique.
        if (header.getInt(4) != 0 || header.getLong(8) != unique) {
            return false;
        }
        arg.putInt(INIT_FLAGS, arg.getInt(INIT_FLAGS) | FUSE_HANDLE_KILLPRIV_V2);
        return true;
    }
}
