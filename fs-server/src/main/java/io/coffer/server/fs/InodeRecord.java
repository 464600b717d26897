package io.coffer.server.fs;

import io.coffer.core.FileAttributes;
import io.coffer.core.FileType;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * One inode as stored (sealed by the file system's cipher, so its size, times and symlink target
 * are authenticated and the target is encrypted). Mutable: read, change, write back within one
 * transaction.
 */
final class InodeRecord {
    /** 2 adds a flags byte; a version-1 record still reads, as one that may carry capabilities and extras. */
    static final int FORMAT_VERSION = 2;
    private static final int FLAG_MAY_HAVE_CAPABILITY = 1;
    /**
     * Set in every record this server writes. An older server writes records back from their
     * fields, dropping the bits it does not know, and stores xattrs without saying so: a record
     * without this bit reads as one that may have extras, whatever bit 2 says.
     */
    private static final int FLAG_EXTRAS_TRACKED = 2;
    private static final int FLAG_MAY_HAVE_EXTRAS = 4;
    /** {@link #stored} follows the flags (an older server reads past it, and drops the bit when it writes). */
    private static final int FLAG_STORED_COUNTED = 8;

    FileType type;
    int mode;
    int uid;
    int gid;
    int nlink;
    long size;
    long rdev;
    long atime;
    long mtime;
    long ctime;
    long btime;
    long change;
    int generation;
    /** Directories: the parent directory's inode (the root points at itself). */
    long parent;
    /** Directories: the next READDIR cookie to hand out. */
    long nextCookie;
    /** Symbolic links: the target. */
    String target;
    /**
     * Whether a {@code security.capability} attribute may be stored for this inode. Every write,
     * truncate and chown must drop that attribute; knowing it absent spares them a lookup of a
     * key that is almost never there.
     */
    boolean mayHaveCapability;
    /**
     * Whether any extended attribute or byte-range lock may be stored for this inode. Removing
     * its last link must delete them, and knowing there are none spares that two prefix scans
     * (most files never get either).
     */
    boolean mayHaveExtras;
    /**
     * Regular files: the bytes their chunks hold (the sum of their plain lengths), which is what
     * {@code st_blocks} reports, so that a sparse file shows only what it stores; -1 where unknown
     * (a file written before the count was kept, or by an older server), reported as its size.
     */
    long stored = -1;

    FileAttributes attributes(long inode, int chunkOverheadPerChunk, int chunkSize) {
        long data = stored >= 0 ? Math.min(stored, size) : size;
        long used = type == FileType.REGULAR ? ((data + 4095) / 4096) * 4096 : 4096;
        return new FileAttributes(type, mode, nlink, uid, gid, size, used, rdev, inode, atime, mtime, ctime, change);
    }

    byte[] encode() {
        try {
            ByteArrayOutputStream bos = new ByteArrayOutputStream(96);
            DataOutputStream out = new DataOutputStream(bos);
            out.writeByte(FORMAT_VERSION);
            out.writeByte(type.code());
            out.writeInt(mode);
            out.writeInt(uid);
            out.writeInt(gid);
            out.writeInt(nlink);
            out.writeLong(size);
            out.writeLong(rdev);
            out.writeLong(atime);
            out.writeLong(mtime);
            out.writeLong(ctime);
            out.writeLong(btime);
            out.writeLong(change);
            out.writeInt(generation);
            out.writeLong(parent);
            out.writeLong(nextCookie);
            byte[] t = target == null ? new byte[0] : target.getBytes(StandardCharsets.UTF_8);
            out.writeShort(t.length);
            out.write(t);
            out.writeByte((mayHaveCapability ? FLAG_MAY_HAVE_CAPABILITY : 0) | FLAG_EXTRAS_TRACKED
                    | (mayHaveExtras ? FLAG_MAY_HAVE_EXTRAS : 0) | (stored >= 0 ? FLAG_STORED_COUNTED : 0));
            if (stored >= 0) {
                out.writeLong(stored);
            }
            return bos.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static InodeRecord decode(byte[] b) throws IOException {
        DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(b));
        int v = in.readUnsignedByte();
        if (v != 1 && v != FORMAT_VERSION) {
            throw new IOException("unknown inode record version " + v);
        }
        InodeRecord r = new InodeRecord();
        r.type = FileType.ofCode(in.readUnsignedByte());
        r.mode = in.readInt();
        r.uid = in.readInt();
        r.gid = in.readInt();
        r.nlink = in.readInt();
        r.size = in.readLong();
        r.rdev = in.readLong();
        r.atime = in.readLong();
        r.mtime = in.readLong();
        r.ctime = in.readLong();
        r.btime = in.readLong();
        r.change = in.readLong();
        r.generation = in.readInt();
        r.parent = in.readLong();
        r.nextCookie = in.readLong();
        int tl = in.readUnsignedShort();
        if (tl > 0) {
            byte[] t = new byte[tl];
            in.readFully(t);
            r.target = new String(t, StandardCharsets.UTF_8);
        }
        // Version 1 kept no flags: such an inode may have been given a capability, or extras.
        int flags = v == 1 ? FLAG_MAY_HAVE_CAPABILITY : in.readUnsignedByte();
        r.mayHaveCapability = (flags & FLAG_MAY_HAVE_CAPABILITY) != 0;
        r.mayHaveExtras = (flags & FLAG_EXTRAS_TRACKED) == 0 || (flags & FLAG_MAY_HAVE_EXTRAS) != 0;
        r.stored = (flags & FLAG_STORED_COUNTED) != 0 ? in.readLong() : -1;
        return r;
    }
}
