package io.coffer.core;

import io.netty.buffer.ByteBuf;

/**
 * Attributes of one inode as the client sees them. Times are nanoseconds since the epoch.
 * {@code change} grows on every modification of data or attributes (like NFSv4's change
 * attribute) so caches can tell "unchanged" without trusting clocks.
 *
 * @param mode permission bits only (07777); the type is in {@code type}
 */
public record FileAttributes(
        FileType type,
        int mode,
        int nlink,
        int uid,
        int gid,
        long size,
        long usedBytes,
        long rdev,
        long inode,
        long atimeNanos,
        long mtimeNanos,
        long ctimeNanos,
        long change) {

    public static final int WIRE_SIZE = 1 + 4 * 4 + 8 * 8;

    public boolean isDirectory() {
        return type == FileType.DIRECTORY;
    }

    public boolean isRegular() {
        return type == FileType.REGULAR;
    }

    /** The full {@code st_mode}: type bits and permission bits. */
    public int fullMode() {
        return type.bits() | (mode & 07777);
    }

    public FileAttributes withSize(long newSize) {
        return new FileAttributes(type, mode, nlink, uid, gid, newSize, usedBytes, rdev, inode,
                atimeNanos, mtimeNanos, ctimeNanos, change);
    }

    public FileAttributes withTimes(long mtime, long ctime) {
        return new FileAttributes(type, mode, nlink, uid, gid, size, usedBytes, rdev, inode,
                atimeNanos, mtime, ctime, change);
    }

    public void write(ByteBuf out) {
        out.writeByte(type.code());
        out.writeInt(mode);
        out.writeInt(nlink);
        out.writeInt(uid);
        out.writeInt(gid);
        out.writeLong(size);
        out.writeLong(usedBytes);
        out.writeLong(rdev);
        out.writeLong(inode);
        out.writeLong(atimeNanos);
        out.writeLong(mtimeNanos);
        out.writeLong(ctimeNanos);
        out.writeLong(change);
    }

    public static FileAttributes read(ByteBuf in) {
        FileType type = FileType.ofCode(in.readUnsignedByte());
        return new FileAttributes(type, in.readInt(), in.readInt(), in.readInt(), in.readInt(),
                in.readLong(), in.readLong(), in.readLong(), in.readLong(), in.readLong(),
                in.readLong(), in.readLong(), in.readLong());
    }
}
