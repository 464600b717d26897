package io.coffer.core;

import io.coffer.core.status.NoSysException;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.util.List;

/**
 * The file-system operations Coffer serves, on handles, like NFS. The server implements it over
 * its stores; the client implements it over the protocol; decorators (access checks, caching)
 * wrap it.
 *
 * <p>Every method reports failure with an {@link FsException} whose status is the errno the
 * caller should see; any other {@link IOException} is a server fault (EIO). Implementations are
 * thread-safe: many operations run at once, including on the same handle. Optional operations
 * default to ENOSYS so an implementation that lacks them never fakes success.
 *
 * <p>Names are single path components: never empty, never {@code .} or {@code ..}, no {@code /}
 * or NUL, at most 255 bytes of UTF-8 (else ENAMETOOLONG).
 */
public interface Vfs {

    /** The largest size a file may have, 1 PiB: a write or size change past it gets EFBIG. */
    long MAX_FILE_SIZE = 1L << 50;

    /** Resolves the root of an export: the file system's root or a directory below it ({@code /a/b}). */
    Entry mount(OpContext ctx, FileSystemId fs, String path) throws IOException;

    FileAttributes getattr(OpContext ctx, FileHandle handle) throws IOException;

    /**
     * Changes attributes; a size change truncates or extends (with zeros) the file. Returns the
     * attributes after the change. Permission rules are those of chmod/chown/truncate/utimensat.
     */
    FileAttributes setattr(OpContext ctx, FileHandle handle, SetAttributes change) throws IOException;

    /** Finds {@code name} in {@code dir}: ENOENT if absent, ENOTDIR if {@code dir} is not a directory. */
    Entry lookup(OpContext ctx, FileHandle dir, String name) throws IOException;

    String readlink(OpContext ctx, FileHandle handle) throws IOException;

    /** Reads up to {@code count} bytes; fewer only at the end of the file. EISDIR on a directory. */
    ReadResult read(OpContext ctx, FileHandle handle, long offset, int count) throws IOException;

    /**
     * Writes all of {@code data} at {@code offset} (the caller keeps ownership of {@code data}).
     * With {@code stable} false the data may be lost by a server crash until a {@link #commit}
     * returns the same verifier as this reply.
     */
    WriteResult write(OpContext ctx, FileHandle handle, long offset, ByteBuf data, boolean stable)
            throws IOException;

    /**
     * Writes {@code data} at {@code offset}, then applies {@code change} (mode, owner, times; no
     * size) to the same file, as a WRITE followed by a SETATTR: an explicit mtime in the change
     * wins over the write's. With {@code stable}, data and attributes are durable before the
     * return, and the result's verifier is the one they are stable under. The result's attributes
     * are those after the change. Errors are those of WRITE and SETATTR; when the SETATTR fails the
     * data may still have been written.
     */
    default WriteResult writeThenSetattr(OpContext ctx, FileHandle handle, long offset, ByteBuf data, boolean stable,
            SetAttributes change) throws IOException {
        WriteResult w = write(ctx, handle, offset, data, false);
        FileAttributes a = setattr(ctx, handle, change);
        long verifier = stable ? commit(ctx, handle) : w.verifier();
        return new WriteResult(w.count(), stable, verifier, a);
    }

    /** Makes every write to the file stable; returns the write verifier they are stable under. */
    long commit(OpContext ctx, FileHandle handle) throws IOException;

    Entry create(OpContext ctx, FileHandle dir, String name, int mode, CreateMode how) throws IOException;

    Entry mkdir(OpContext ctx, FileHandle dir, String name, int mode) throws IOException;

    Entry symlink(OpContext ctx, FileHandle dir, String name, String target) throws IOException;

    /** Makes a FIFO, socket or device node. EINVAL for regular files, directories and links. */
    Entry mknod(OpContext ctx, FileHandle dir, String name, FileType type, int mode, long rdev)
            throws IOException;

    /** A new name for {@code target}; EPERM if it is a directory. */
    Entry link(OpContext ctx, FileHandle target, FileHandle dir, String name) throws IOException;

    /** Removes a non-directory; EISDIR for a directory. */
    void remove(OpContext ctx, FileHandle dir, String name) throws IOException;

    /** Removes an empty directory; ENOTEMPTY otherwise, ENOTDIR for a non-directory. */
    void rmdir(OpContext ctx, FileHandle dir, String name) throws IOException;

    /**
     * Atomically renames, replacing an existing target as rename(2) does (EISDIR, ENOTDIR,
     * ENOTEMPTY, EINVAL for moving a directory into itself).
     */
    void rename(OpContext ctx, FileHandle fromDir, String fromName, FileHandle toDir, String toName)
            throws IOException;

    /**
     * Lists entries after {@code cookie} (0 = from the start), at most {@code maxEntries}, with
     * their handles and attributes. The listing excludes {@code .} and {@code ..}.
     */
    DirListing readdir(OpContext ctx, FileHandle dir, long cookie, int maxEntries) throws IOException;

    FsStats fsstat(OpContext ctx, FileHandle handle) throws IOException;

    /** ENODATA if the attribute is absent. */
    default byte[] getxattr(OpContext ctx, FileHandle handle, String name) throws IOException {
        throw new NoSysException("getxattr");
    }

    default List<String> listxattr(OpContext ctx, FileHandle handle) throws IOException {
        throw new NoSysException("listxattr");
    }

    /** EEXIST with CREATE if present, ENODATA with REPLACE if absent, EOPNOTSUPP outside namespaces served. */
    default void setxattr(OpContext ctx, FileHandle handle, String name, byte[] value, XattrSetMode mode)
            throws IOException {
        throw new NoSysException("setxattr");
    }

    default void removexattr(OpContext ctx, FileHandle handle, String name) throws IOException {
        throw new NoSysException("removexattr");
    }

    /** Returns a lock that conflicts with {@code lock}, or null if it could be granted. */
    default LockRange testLock(OpContext ctx, FileHandle handle, LockRange lock) throws IOException {
        throw new NoSysException("lock");
    }

    /** Acquires or (with {@link LockType#UNLOCK}) releases; EAGAIN on conflict, never blocks. */
    default void lock(OpContext ctx, FileHandle handle, LockRange lock) throws IOException {
        throw new NoSysException("lock");
    }
}
