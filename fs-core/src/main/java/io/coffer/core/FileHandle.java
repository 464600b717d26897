package io.coffer.core;

import io.netty.buffer.ByteBuf;

/**
 * A file handle: which file system, which inode, and the inode's generation. The generation
 * changes when an inode number is reused, so a handle to a deleted file answers ESTALE instead
 * of reaching its successor. Handles survive server restarts because nothing in them is
 * process-local.
 */
public record FileHandle(int fsId, long inode, int generation) {
    /** Encoded size on the wire. */
    public static final int WIRE_SIZE = 16;

    public FileSystemId fileSystem() {
        return new FileSystemId(fsId);
    }

    public void write(ByteBuf out) {
        out.writeInt(fsId);
        out.writeLong(inode);
        out.writeInt(generation);
    }

    public static FileHandle read(ByteBuf in) {
        return new FileHandle(in.readInt(), in.readLong(), in.readInt());
    }

    @Override
    public String toString() {
        return String.format("fs-%08x:%d.%d", fsId, inode, generation);
    }
}
