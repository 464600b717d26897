package io.coffer.core.rpc;

/** Constants of the Coffer RPC protocol (see docs/protocol.md). */
public final class Protocol {
    private Protocol() {
    }

    /** "COFR": the first four bytes of every HELLO, so a stray peer is recognised at once. */
    public static final int MAGIC = 0x434F4652;
    public static final int VERSION_MIN = 1;
    public static final int VERSION_MAX = 2;
    /** Version 2 added WRITE_SETATTR, the retransmission bit of calls and MOUNT's root-squash byte. */
    public static final int VERSION_2 = 2;

    /** Largest READ or WRITE payload. */
    public static final int MAX_IO = 1 << 20;
    /** Largest frame, length prefix excluded: one maximal WRITE plus generous header room. */
    public static final int MAX_FRAME = MAX_IO + 64 * 1024;

    public static final int TYPE_CALL = 1;
    public static final int TYPE_REPLY = 2;

    public static final int MAX_NAME_BYTES = 255;
    public static final int MAX_PATH_BYTES = 4096;
    public static final int MAX_XATTR_VALUE = 64 * 1024;
    public static final int MAX_READDIR_ENTRIES = 4096;

    /** Default TCP port of a Coffer server, as NFS's. */
    public static final int DEFAULT_PORT = 2049;
}
