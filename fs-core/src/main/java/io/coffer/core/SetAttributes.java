package io.coffer.core;

import io.netty.buffer.ByteBuf;

/**
 * Which attributes a SETATTR changes. A null field is left alone. Times are either a value in
 * nanoseconds or "the server's now" ({@link #atimeNow}, {@link #mtimeNow}), like
 * {@code UTIME_NOW}, so that clients with skewed clocks still stamp server time.
 */
public record SetAttributes(
        Integer mode,
        Integer uid,
        Integer gid,
        Long size,
        Long atimeNanos,
        boolean atimeNow,
        Long mtimeNanos,
        boolean mtimeNow) {

    public static final SetAttributes NONE = new SetAttributes(null, null, null, null, null, false, null, false);

    public static SetAttributes mode(int mode) {
        return new SetAttributes(mode, null, null, null, null, false, null, false);
    }

    public static SetAttributes owner(Integer uid, Integer gid) {
        return new SetAttributes(null, uid, gid, null, null, false, null, false);
    }

    public static SetAttributes size(long size) {
        return new SetAttributes(null, null, null, size, null, false, null, false);
    }

    public static SetAttributes times(Long atime, boolean atimeNow, Long mtime, boolean mtimeNow) {
        return new SetAttributes(null, null, null, null, atime, atimeNow, mtime, mtimeNow);
    }

    public boolean changesTimes() {
        return atimeNanos != null || atimeNow || mtimeNanos != null || mtimeNow;
    }

    private static final int M_MODE = 1, M_UID = 2, M_GID = 4, M_SIZE = 8, M_ATIME = 16, M_ATIME_NOW = 32,
            M_MTIME = 64, M_MTIME_NOW = 128;

    public void write(ByteBuf out) {
        int mask = (mode != null ? M_MODE : 0) | (uid != null ? M_UID : 0) | (gid != null ? M_GID : 0)
                | (size != null ? M_SIZE : 0) | (atimeNanos != null ? M_ATIME : 0) | (atimeNow ? M_ATIME_NOW : 0)
                | (mtimeNanos != null ? M_MTIME : 0) | (mtimeNow ? M_MTIME_NOW : 0);
        out.writeShort(mask);
        if (mode != null) out.writeInt(mode);
        if (uid != null) out.writeInt(uid);
        if (gid != null) out.writeInt(gid);
        if (size != null) out.writeLong(size);
        if (atimeNanos != null) out.writeLong(atimeNanos);
        if (mtimeNanos != null) out.writeLong(mtimeNanos);
    }

    public static SetAttributes read(ByteBuf in) {
        int mask = in.readUnsignedShort();
        Integer mode = (mask & M_MODE) != 0 ? in.readInt() : null;
        Integer uid = (mask & M_UID) != 0 ? in.readInt() : null;
        Integer gid = (mask & M_GID) != 0 ? in.readInt() : null;
        Long size = (mask & M_SIZE) != 0 ? in.readLong() : null;
        Long atime = (mask & M_ATIME) != 0 ? in.readLong() : null;
        Long mtime = (mask & M_MTIME) != 0 ? in.readLong() : null;
        return new SetAttributes(mode, uid, gid, size, atime, (mask & M_ATIME_NOW) != 0, mtime,
                (mask & M_MTIME_NOW) != 0);
    }
}
