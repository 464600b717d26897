package io.coffer.core.rpc;

import io.coffer.core.CreateMode;
import io.coffer.core.DirEntry;
import io.coffer.core.DirListing;
import io.coffer.core.Entry;
import io.coffer.core.FileAttributes;
import io.coffer.core.FileHandle;
import io.coffer.core.FileType;
import io.coffer.core.FsStats;
import io.coffer.core.LockRange;
import io.coffer.core.LockType;
import io.coffer.core.SetAttributes;
import io.coffer.core.XattrSetMode;
import io.coffer.core.status.ProtocolException;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Argument and result layouts of every operation (docs/protocol.md is the prose of this file).
 * Each record writes itself and reads itself, so both ends share one definition. Reads throw
 * {@link ProtocolException} on truncated or out-of-range input.
 */
public final class Messages {
    private Messages() {
    }

    static FileHandle readHandle(ByteBuf in) throws ProtocolException {
        Wire.need(in, FileHandle.WIRE_SIZE);
        return FileHandle.read(in);
    }

    static String readName(ByteBuf in) throws ProtocolException {
        // Names longer than 255 bytes must reach the server so it can answer ENAMETOOLONG.
        return Wire.readString(in, Protocol.MAX_PATH_BYTES);
    }

    public static FileAttributes attributes(ByteBuf in) throws ProtocolException {
        Wire.need(in, FileAttributes.WIRE_SIZE);
        try {
            return FileAttributes.read(in);
        } catch (IllegalArgumentException e) {
            throw new ProtocolException(e.getMessage());
        }
    }

    public static void writeEntry(ByteBuf out, Entry e) {
        e.handle().write(out);
        e.attributes().write(out);
    }

    public static Entry readEntry(ByteBuf in) throws ProtocolException {
        return new Entry(readHandle(in), attributes(in));
    }

    // ---- handshake ----

    public record HelloArgs(int minVersion, int maxVersion, UUID clientId, String clientName) {
        public void write(ByteBuf out) {
            out.writeInt(Protocol.MAGIC);
            out.writeShort(minVersion);
            out.writeShort(maxVersion);
            out.writeLong(clientId.getMostSignificantBits());
            out.writeLong(clientId.getLeastSignificantBits());
            Wire.writeString(out, clientName);
        }

        public static HelloArgs read(ByteBuf in) throws ProtocolException {
            Wire.need(in, 4 + 2 + 2 + 16);
            int magic = in.readInt();
            if (magic != Protocol.MAGIC) {
                throw new ProtocolException(String.format("bad magic 0x%08x: not a Coffer client", magic));
            }
            int min = in.readUnsignedShort();
            int max = in.readUnsignedShort();
            UUID id = new UUID(in.readLong(), in.readLong());
            return new HelloArgs(min, max, id, Wire.readString(in, 256));
        }
    }

    public record HelloResult(int version, long verifier, String serverName, int maxIo) {
        public void write(ByteBuf out) {
            out.writeShort(version);
            out.writeLong(verifier);
            Wire.writeString(out, serverName);
            out.writeInt(maxIo);
        }

        public static HelloResult read(ByteBuf in) throws ProtocolException {
            Wire.need(in, 10);
            int v = in.readUnsignedShort();
            long verifier = in.readLong();
            String name = Wire.readString(in, 256);
            Wire.need(in, 4);
            return new HelloResult(v, verifier, name, in.readInt());
        }
    }

    // ---- file operations ----

    public record MountArgs(int fsId, String path) {
        public void write(ByteBuf out) {
            out.writeInt(fsId);
            Wire.writeString(out, path);
        }

        public static MountArgs read(ByteBuf in) throws ProtocolException {
            Wire.need(in, 4);
            return new MountArgs(in.readInt(), Wire.readString(in, Protocol.MAX_PATH_BYTES));
        }
    }

    public record HandleArgs(FileHandle handle) {
        public void write(ByteBuf out) {
            handle.write(out);
        }

        public static HandleArgs read(ByteBuf in) throws ProtocolException {
            return new HandleArgs(readHandle(in));
        }
    }

    public record SetattrArgs(FileHandle handle, SetAttributes change) {
        public void write(ByteBuf out) {
            handle.write(out);
            change.write(out);
        }

        public static SetattrArgs read(ByteBuf in) throws ProtocolException {
            FileHandle h = readHandle(in);
            try {
                return new SetattrArgs(h, SetAttributes.read(in));
            } catch (IndexOutOfBoundsException e) {
                throw new ProtocolException("truncated SETATTR");
            }
        }
    }

    public record DirNameArgs(FileHandle dir, String name) {
        public void write(ByteBuf out) {
            dir.write(out);
            Wire.writeString(out, name);
        }

        public static DirNameArgs read(ByteBuf in) throws ProtocolException {
            return new DirNameArgs(readHandle(in), readName(in));
        }
    }

    public record ReadArgs(FileHandle handle, long offset, int count) {
        public void write(ByteBuf out) {
            handle.write(out);
            out.writeLong(offset);
            out.writeInt(count);
        }

        public static ReadArgs read(ByteBuf in) throws ProtocolException {
            FileHandle h = readHandle(in);
            Wire.need(in, 12);
            long off = in.readLong();
            int count = in.readInt();
            if (off < 0 || count < 0 || count > Protocol.MAX_IO) {
                throw new ProtocolException("READ out of range: offset " + off + " count " + count);
            }
            return new ReadArgs(h, off, count);
        }
    }

    /** WRITE arguments; {@code data} is a slice of the frame, valid while the call is. */
    public record WriteArgs(FileHandle handle, long offset, boolean stable, ByteBuf data) {
        public void writeHeader(ByteBuf out) {
            handle.write(out);
            out.writeLong(offset);
            out.writeByte(stable ? 1 : 0);
            out.writeInt(data.readableBytes());
        }

        public static WriteArgs read(ByteBuf in) throws ProtocolException {
            FileHandle h = readHandle(in);
            Wire.need(in, 13);
            long off = in.readLong();
            boolean stable = in.readByte() != 0;
            int n = in.readInt();
            if (off < 0 || n < 0 || n > Protocol.MAX_IO) {
                throw new ProtocolException("WRITE out of range: offset " + off + " count " + n);
            }
            Wire.need(in, n);
            return new WriteArgs(h, off, stable, in.readSlice(n));
        }
    }

    /**
     * WRITE_SETATTR: the data is written first, then the attributes are changed (so an explicit
     * mtime is not overwritten by the write's "now"); with {@code stable}, both are durable before
     * the reply. The change carries no size.
     */
    public record WriteSetattrArgs(FileHandle handle, long offset, boolean stable, SetAttributes change, ByteBuf data) {
        public void writeHeader(ByteBuf out) {
            handle.write(out);
            out.writeLong(offset);
            out.writeByte(stable ? 1 : 0);
            change.write(out);
            out.writeInt(data.readableBytes());
        }

        public static WriteSetattrArgs read(ByteBuf in) throws ProtocolException {
            FileHandle h = readHandle(in);
            Wire.need(in, 9);
            long off = in.readLong();
            boolean stable = in.readByte() != 0;
            SetAttributes change;
            try {
                change = SetAttributes.read(in);
            } catch (IndexOutOfBoundsException e) {
                throw new ProtocolException("truncated WRITE_SETATTR");
            }
            if (change.size() != null) {
                throw new ProtocolException("WRITE_SETATTR cannot change the size");
            }
            Wire.need(in, 4);
            int n = in.readInt();
            if (off < 0 || n < 0 || n > Protocol.MAX_IO) {
                throw new ProtocolException("WRITE_SETATTR out of range: offset " + off + " count " + n);
            }
            Wire.need(in, n);
            return new WriteSetattrArgs(h, off, stable, change, in.readSlice(n));
        }
    }

    public record CreateArgs(FileHandle dir, String name, int mode, CreateMode how) {
        public void write(ByteBuf out) {
            dir.write(out);
            Wire.writeString(out, name);
            out.writeInt(mode);
            out.writeByte(how.ordinal());
        }

        public static CreateArgs read(ByteBuf in) throws ProtocolException {
            FileHandle d = readHandle(in);
            String n = readName(in);
            Wire.need(in, 5);
            int mode = in.readInt();
            int how = in.readUnsignedByte();
            if (how >= CreateMode.values().length) {
                throw new ProtocolException("bad create mode " + how);
            }
            return new CreateArgs(d, n, mode, CreateMode.values()[how]);
        }
    }

    public record MkdirArgs(FileHandle dir, String name, int mode) {
        public void write(ByteBuf out) {
            dir.write(out);
            Wire.writeString(out, name);
            out.writeInt(mode);
        }

        public static MkdirArgs read(ByteBuf in) throws ProtocolException {
            FileHandle d = readHandle(in);
            String n = readName(in);
            Wire.need(in, 4);
            return new MkdirArgs(d, n, in.readInt());
        }
    }

    public record SymlinkArgs(FileHandle dir, String name, String target) {
        public void write(ByteBuf out) {
            dir.write(out);
            Wire.writeString(out, name);
            Wire.writeString(out, target);
        }

        public static SymlinkArgs read(ByteBuf in) throws ProtocolException {
            return new SymlinkArgs(readHandle(in), readName(in), Wire.readString(in, Protocol.MAX_PATH_BYTES));
        }
    }

    public record MknodArgs(FileHandle dir, String name, FileType type, int mode, long rdev) {
        public void write(ByteBuf out) {
            dir.write(out);
            Wire.writeString(out, name);
            out.writeByte(type.code());
            out.writeInt(mode);
            out.writeLong(rdev);
        }

        public static MknodArgs read(ByteBuf in) throws ProtocolException {
            FileHandle d = readHandle(in);
            String n = readName(in);
            Wire.need(in, 13);
            int t = in.readUnsignedByte();
            if (t >= FileType.values().length) {
                throw new ProtocolException("bad file type " + t);
            }
            return new MknodArgs(d, n, FileType.ofCode(t), in.readInt(), in.readLong());
        }
    }

    public record LinkArgs(FileHandle target, FileHandle dir, String name) {
        public void write(ByteBuf out) {
            target.write(out);
            dir.write(out);
            Wire.writeString(out, name);
        }

        public static LinkArgs read(ByteBuf in) throws ProtocolException {
            return new LinkArgs(readHandle(in), readHandle(in), readName(in));
        }
    }

    public record RenameArgs(FileHandle fromDir, String fromName, FileHandle toDir, String toName) {
        public void write(ByteBuf out) {
            fromDir.write(out);
            Wire.writeString(out, fromName);
            toDir.write(out);
            Wire.writeString(out, toName);
        }

        public static RenameArgs read(ByteBuf in) throws ProtocolException {
            return new RenameArgs(readHandle(in), readName(in), readHandle(in), readName(in));
        }
    }

    public record ReaddirArgs(FileHandle dir, long cookie, int maxEntries) {
        public void write(ByteBuf out) {
            dir.write(out);
            out.writeLong(cookie);
            out.writeInt(maxEntries);
        }

        public static ReaddirArgs read(ByteBuf in) throws ProtocolException {
            FileHandle d = readHandle(in);
            Wire.need(in, 12);
            long cookie = in.readLong();
            int max = in.readInt();
            if (max <= 0 || max > Protocol.MAX_READDIR_ENTRIES) {
                max = Protocol.MAX_READDIR_ENTRIES;
            }
            return new ReaddirArgs(d, cookie, max);
        }
    }

    public static void writeListing(ByteBuf out, DirListing l) {
        out.writeByte(l.eof() ? 1 : 0);
        out.writeInt(l.entries().size());
        for (DirEntry e : l.entries()) {
            Wire.writeString(out, e.name());
            out.writeLong(e.cookie());
            e.handle().write(out);
            e.attributes().write(out);
        }
    }

    public static DirListing readListing(ByteBuf in) throws ProtocolException {
        Wire.need(in, 5);
        boolean eof = in.readByte() != 0;
        int n = in.readInt();
        if (n < 0 || n > Protocol.MAX_READDIR_ENTRIES) {
            throw new ProtocolException("bad entry count " + n);
        }
        List<DirEntry> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String name = Wire.readString(in, Protocol.MAX_NAME_BYTES);
            Wire.need(in, 8);
            long cookie = in.readLong();
            list.add(new DirEntry(name, cookie, readHandle(in), attributes(in)));
        }
        return new DirListing(list, eof);
    }

    public static void writeStats(ByteBuf out, FsStats s) {
        out.writeLong(s.totalBytes());
        out.writeLong(s.freeBytes());
        out.writeLong(s.availableBytes());
        out.writeLong(s.totalFiles());
        out.writeLong(s.freeFiles());
        out.writeInt(s.blockSize());
        out.writeInt(s.maxNameLength());
    }

    public static FsStats readStats(ByteBuf in) throws ProtocolException {
        Wire.need(in, 48);
        return new FsStats(in.readLong(), in.readLong(), in.readLong(), in.readLong(), in.readLong(), in.readInt(),
                in.readInt());
    }

    public record XattrArgs(FileHandle handle, String name) {
        public void write(ByteBuf out) {
            handle.write(out);
            Wire.writeString(out, name);
        }

        public static XattrArgs read(ByteBuf in) throws ProtocolException {
            return new XattrArgs(readHandle(in), Wire.readString(in, Protocol.MAX_NAME_BYTES));
        }
    }

    public record SetxattrArgs(FileHandle handle, String name, byte[] value, XattrSetMode mode) {
        public void write(ByteBuf out) {
            handle.write(out);
            Wire.writeString(out, name);
            out.writeByte(mode.ordinal());
            Wire.writeBytes(out, value);
        }

        public static SetxattrArgs read(ByteBuf in) throws ProtocolException {
            FileHandle h = readHandle(in);
            String n = Wire.readString(in, Protocol.MAX_NAME_BYTES);
            Wire.need(in, 1);
            int m = in.readUnsignedByte();
            if (m >= XattrSetMode.values().length) {
                throw new ProtocolException("bad xattr mode " + m);
            }
            return new SetxattrArgs(h, n, Wire.readBytes(in, Protocol.MAX_XATTR_VALUE), XattrSetMode.values()[m]);
        }
    }

    public static void writeLock(ByteBuf out, LockRange l) {
        out.writeByte(l.type().ordinal());
        out.writeLong(l.start());
        out.writeLong(l.length());
        out.writeLong(l.owner());
        out.writeInt(l.pid());
        out.writeByte(l.flock() ? 1 : 0);
    }

    public static LockRange readLock(ByteBuf in) throws ProtocolException {
        Wire.need(in, 30);
        int t = in.readUnsignedByte();
        if (t >= LockType.values().length) {
            throw new ProtocolException("bad lock type " + t);
        }
        long start = in.readLong();
        long len = in.readLong();
        if (start < 0 || len < 0) {
            throw new ProtocolException("bad lock range " + start + "+" + len);
        }
        return new LockRange(LockType.values()[t], start, len, in.readLong(), in.readInt(), in.readByte() != 0);
    }

    public record LockArgs(FileHandle handle, LockRange lock) {
        public void write(ByteBuf out) {
            handle.write(out);
            writeLock(out, lock);
        }

        public static LockArgs read(ByteBuf in) throws ProtocolException {
            return new LockArgs(readHandle(in), readLock(in));
        }
    }

    public record AdminArgs(String command, String json) {
        public void write(ByteBuf out) {
            Wire.writeString(out, command);
            Wire.writeBytes(out, json.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }

        public static AdminArgs read(ByteBuf in) throws ProtocolException {
            String c = Wire.readString(in, 128);
            return new AdminArgs(c, new String(Wire.readBytes(in, 1 << 20), java.nio.charset.StandardCharsets.UTF_8));
        }
    }
}
