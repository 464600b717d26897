package io.coffer.core.rpc;

/**
 * Protocol operations with their wire codes. {@code idempotent} ops are answered afresh when a
 * request is retransmitted; the others go through the server's duplicate-request cache.
 */
public enum Op {
    NULL(0, true),
    HELLO(1, true),
    MOUNT(2, true),
    GETATTR(3, true),
    SETATTR(4, false),
    LOOKUP(5, true),
    READLINK(7, true),
    READ(8, true),
    WRITE(9, true),
    CREATE(10, false),
    MKDIR(11, false),
    SYMLINK(12, false),
    MKNOD(13, false),
    REMOVE(14, false),
    RMDIR(15, false),
    RENAME(16, false),
    LINK(17, false),
    READDIR(18, true),
    FSSTAT(19, true),
    COMMIT(20, true),
    GETXATTR(21, true),
    SETXATTR(22, false),
    LISTXATTR(23, true),
    REMOVEXATTR(24, false),
    LOCK(25, false),
    TESTLOCK(26, true),
    /** WRITE, then SETATTR of the same file, in one round trip (version 2). */
    WRITE_SETATTR(27, true),
    ADMIN(40, false);

    private static final Op[] BY_CODE = new Op[64];

    static {
        for (Op op : values()) {
            BY_CODE[op.code] = op;
        }
    }

    private final int code;
    private final boolean idempotent;

    Op(int code, boolean idempotent) {
        this.code = code;
        this.idempotent = idempotent;
    }

    public int code() {
        return code;
    }

    public boolean idempotent() {
        return idempotent;
    }

    /** The op for a wire code, or null if this build does not know it. */
    public static Op ofCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
