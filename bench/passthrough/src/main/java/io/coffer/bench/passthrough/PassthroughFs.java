package io.coffer.bench.passthrough;

import com.kenai.jffi.MemoryIO;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;
import jnr.constants.platform.Errno;
import jnr.ffi.LibraryLoader;
import jnr.ffi.LibraryOption;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.Struct;
import jnr.ffi.types.mode_t;
import jnr.ffi.types.off_t;
import jnr.ffi.types.size_t;
import ru.serce.jnrfuse.FuseFillDir;
import ru.serce.jnrfuse.FuseStubFS;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.Statvfs;
import ru.serce.jnrfuse.struct.Timespec;

/**
 * A passthrough of one local directory: the fastest a jnr-fuse daemon can serve the kernel,
 * used as the ceiling Coffer is measured against. Metadata goes straight to libc; file data
 * goes through one FileChannel per open file with positional I/O on a direct buffer that
 * aliases libfuse's own buffer, so no byte is copied in Java.
 *
 * <p>Every callback ends in a catch-all: jnr-fuse has no guard, and an exception escaping into
 * native code hangs the mount. Operations left out (xattrs, locks, access, ioctl) keep
 * their {@code @NotImplemented} stubs, so the kernel gets ENOSYS and handles them itself.
 */
final class PassthroughFs extends FuseStubFS {
    private static final Logger LOG = Logger.getLogger(PassthroughFs.class.getName());
    private static final int AT_FDCWD = -100;
    private static final int AT_SYMLINK_NOFOLLOW = 0x100;
    // Linux open(2) flag values; jnr-constants lacks O_DSYNC, and this daemon only runs on Linux.
    private static final int O_ACCMODE = 03;
    private static final int O_RDONLY = 00;
    private static final int O_WRONLY = 01;
    private static final int O_RDWR = 02;
    private static final int O_EXCL = 0200;
    private static final int O_TRUNC = 01000;
    private static final int O_DSYNC = 010000;
    private static final int O_SYNC = 04010000;

    private final String root;
    private final LibC libc;
    private final Runtime libcRuntime;
    private final int euid;
    private final ConcurrentHashMap<Long, FileChannel> open = new ConcurrentHashMap<>();
    private final AtomicLong nextHandle = new AtomicLong(1);

    PassthroughFs(Path root) {
        this.root = root.toAbsolutePath().normalize().toString();
        libc = LibraryLoader.create(LibC.class)
                .option(LibraryOption.SaveError, true)
                .load(Platform.getNativePlatform().getStandardCLibraryName());
        libcRuntime = Runtime.getRuntime(libc);
        // The kernel has already applied the caller's umask to every mode it sends us.
        libc.umask(0);
        euid = libc.geteuid();
    }

    private String real(String path) {
        return "/".equals(path) ? root : root + path;
    }

    private int errno() {
        return -libcRuntime.getLastError();
    }

    /** 0 on success, -errno from the failed libc call otherwise. */
    private int check(int rc) {
        return rc < 0 ? errno() : 0;
    }

    private static int fail(String op, String path, Throwable t) {
        if (t instanceof NoSuchFileException) {
            return -Errno.ENOENT.intValue();
        }
        if (t instanceof FileAlreadyExistsException) {
            return -Errno.EEXIST.intValue();
        }
        if (t instanceof AccessDeniedException) {
            return -Errno.EACCES.intValue();
        }
        if (t instanceof DirectoryNotEmptyException) {
            return -Errno.ENOTEMPTY.intValue();
        }
        if (t instanceof NotDirectoryException) {
            return -Errno.ENOTDIR.intValue();
        }
        if (t instanceof FileSystemException fse && fse.getReason() != null) {
            // java.nio keeps only strerror's text; map back the ones callers act on.
            String reason = fse.getReason();
            for (Errno e : new Errno[] {Errno.EISDIR, Errno.ELOOP, Errno.ENAMETOOLONG, Errno.EROFS,
                    Errno.ENOSPC, Errno.EMFILE, Errno.ENFILE, Errno.ETXTBSY, Errno.EPERM, Errno.EINVAL}) {
                if (reason.equalsIgnoreCase(e.description())) {
                    return -e.intValue();
                }
            }
        }
        LOG.log(Level.WARNING, op + " " + path + " failed", t);
        return -Errno.EIO.intValue();
    }

    /** Files we create belong to the caller, as they would on the backing file system. */
    private int ownToCaller(String real, int rc) {
        if (rc != 0) {
            return rc;
        }
        var ctx = getContext();
        int uid = (int) ctx.uid.get();
        int gid = (int) ctx.gid.get();
        if (uid != euid || gid != 0) {
            return check(libc.lchown(real, uid, gid));
        }
        return 0;
    }

    @Override
    public int getattr(String path, FileStat stat) {
        try {
            return check(libc.lstat(real(path), Struct.getMemory(stat)));
        } catch (Throwable t) {
            return fail("getattr", path, t);
        }
    }

    @Override
    public int readlink(String path, Pointer buf, @size_t long size) {
        try {
            long n = libc.readlink(real(path), buf, size - 1);
            if (n < 0) {
                return errno();
            }
            // readlink(2) does not terminate; FUSE wants a C string.
            buf.putByte(n, (byte) 0);
            return 0;
        } catch (Throwable t) {
            return fail("readlink", path, t);
        }
    }

    @Override
    public int mknod(String path, @mode_t long mode, long rdev) {
        try {
            String real = real(path);
            return ownToCaller(real, check(libc.mknod(real, (int) mode, rdev)));
        } catch (Throwable t) {
            return fail("mknod", path, t);
        }
    }

    @Override
    public int mkdir(String path, @mode_t long mode) {
        try {
            String real = real(path);
            return ownToCaller(real, check(libc.mkdir(real, (int) mode)));
        } catch (Throwable t) {
            return fail("mkdir", path, t);
        }
    }

    @Override
    public int unlink(String path) {
        try {
            return check(libc.unlink(real(path)));
        } catch (Throwable t) {
            return fail("unlink", path, t);
        }
    }

    @Override
    public int rmdir(String path) {
        try {
            return check(libc.rmdir(real(path)));
        } catch (Throwable t) {
            return fail("rmdir", path, t);
        }
    }

    @Override
    public int symlink(String target, String linkPath) {
        try {
            // The target is stored verbatim, never resolved against our root.
            String real = real(linkPath);
            return ownToCaller(real, check(libc.symlink(target, real)));
        } catch (Throwable t) {
            return fail("symlink", linkPath, t);
        }
    }

    @Override
    public int rename(String from, String to) {
        try {
            return check(libc.rename(real(from), real(to)));
        } catch (Throwable t) {
            return fail("rename", from, t);
        }
    }

    @Override
    public int link(String from, String to) {
        try {
            return check(libc.link(real(from), real(to)));
        } catch (Throwable t) {
            return fail("link", from, t);
        }
    }

    @Override
    public int chmod(String path, @mode_t long mode) {
        try {
            return check(libc.chmod(real(path), (int) mode));
        } catch (Throwable t) {
            return fail("chmod", path, t);
        }
    }

    @Override
    public int chown(String path, long uid, long gid) {
        try {
            // (uid_t)-1 means "leave unchanged" to lchown as it does to the kernel.
            return check(libc.lchown(real(path), (int) uid, (int) gid));
        } catch (Throwable t) {
            return fail("chown", path, t);
        }
    }

    @Override
    public int truncate(String path, @off_t long size) {
        try {
            // libc, not FileChannel.truncate: the latter cannot extend a file.
            return check(libc.truncate(real(path), size));
        } catch (Throwable t) {
            return fail("truncate", path, t);
        }
    }

    @Override
    public int ftruncate(String path, @off_t long size, FuseFileInfo fi) {
        return truncate(path, size);
    }

    @Override
    public int utimens(String path, Timespec[] timespec) {
        try {
            // jnr-fuse's two Timespec views alias libfuse's times[2] array; pass it on unchanged so
            // UTIME_NOW and UTIME_OMIT keep their meaning.
            return check(libc.utimensat(AT_FDCWD, real(path), Struct.getMemory(timespec[0]), AT_SYMLINK_NOFOLLOW));
        } catch (Throwable t) {
            return fail("utimens", path, t);
        }
    }

    @Override
    public int statfs(String path, Statvfs stbuf) {
        try {
            return check(libc.statvfs(root, Struct.getMemory(stbuf)));
        } catch (Throwable t) {
            return fail("statfs", path, t);
        }
    }

    @Override
    public int open(String path, FuseFileInfo fi) {
        try {
            FileChannel ch = FileChannel.open(Paths.get(real(path)), openOptions(fi.flags.get(), false));
            fi.fh.set(register(ch));
            return 0;
        } catch (Throwable t) {
            return fail("open", path, t);
        }
    }

    @Override
    public int create(String path, @mode_t long mode, FuseFileInfo fi) {
        try {
            Set<PosixFilePermission> perms = PosixFilePermissions.fromString(rwx((int) mode));
            FileAttribute<Set<PosixFilePermission>> attr = PosixFilePermissions.asFileAttribute(perms);
            String real = real(path);
            FileChannel ch = FileChannel.open(Paths.get(real), openOptions(fi.flags.get(), true), attr);
            if ((mode & 07000) != 0) {
                libc.chmod(real, (int) mode & 07777);
            }
            int rc = ownToCaller(real, 0);
            if (rc != 0) {
                ch.close();
                return rc;
            }
            fi.fh.set(register(ch));
            return 0;
        } catch (Throwable t) {
            return fail("create", path, t);
        }
    }

    private long register(FileChannel ch) {
        long fh = nextHandle.getAndIncrement();
        open.put(fh, ch);
        return fh;
    }

    private static String rwx(int mode) {
        StringBuilder sb = new StringBuilder(9);
        String letters = "rwxrwxrwx";
        for (int i = 0; i < 9; i++) {
            sb.append((mode & (0400 >> i)) != 0 ? letters.charAt(i) : '-');
        }
        return sb.toString();
    }

    private static Set<OpenOption> openOptions(int flags, boolean create) {
        Set<OpenOption> opts = new HashSet<>();
        int acc = flags & O_ACCMODE;
        if (acc == O_RDONLY || acc == O_RDWR) {
            opts.add(StandardOpenOption.READ);
        }
        if (acc == O_WRONLY || acc == O_RDWR) {
            opts.add(StandardOpenOption.WRITE);
        }
        // O_APPEND is left out on purpose: the kernel already sends the end-of-file offset, and
        // an O_APPEND descriptor would make positional writes ignore it.
        if ((flags & O_TRUNC) != 0) {
            opts.add(StandardOpenOption.TRUNCATE_EXISTING);
        }
        if ((flags & O_SYNC) == O_SYNC) {
            opts.add(StandardOpenOption.SYNC);
        } else if ((flags & O_DSYNC) != 0) {
            opts.add(StandardOpenOption.DSYNC);
        }
        if (create) {
            opts.add(StandardOpenOption.WRITE);
            opts.add((flags & O_EXCL) != 0
                    ? StandardOpenOption.CREATE_NEW : StandardOpenOption.CREATE);
        }
        return opts;
    }

    private FileChannel channel(FuseFileInfo fi) {
        return open.get(fi.fh.get());
    }

    /** A direct ByteBuffer over libfuse's buffer: FileChannel then does pread/pwrite straight into it. */
    private static ByteBuffer alias(Pointer buf, long size) {
        return MemoryIO.getInstance().newDirectByteBuffer(buf.address(), (int) size);
    }

    @Override
    public int read(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
        try {
            FileChannel ch = channel(fi);
            if (ch == null) {
                return -Errno.EBADF.intValue();
            }
            ByteBuffer bb = alias(buf, size);
            long pos = offset;
            // FUSE treats a short read as end of file (without direct_io), so fill the buffer.
            while (bb.hasRemaining()) {
                int n = ch.read(bb, pos);
                if (n < 0) {
                    break;
                }
                pos += n;
            }
            return bb.position();
        } catch (Throwable t) {
            return fail("read", path, t);
        }
    }

    @Override
    public int write(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
        try {
            FileChannel ch = channel(fi);
            if (ch == null) {
                return -Errno.EBADF.intValue();
            }
            ByteBuffer bb = alias(buf, size);
            long pos = offset;
            while (bb.hasRemaining()) {
                pos += ch.write(bb, pos);
            }
            return (int) size;
        } catch (Throwable t) {
            return fail("write", path, t);
        }
    }

    @Override
    public int flush(String path, FuseFileInfo fi) {
        // Nothing is buffered here; close-time errors would come from the backing fs at release.
        return 0;
    }

    @Override
    public int release(String path, FuseFileInfo fi) {
        try {
            FileChannel ch = open.remove(fi.fh.get());
            if (ch != null) {
                ch.close();
            }
            return 0;
        } catch (Throwable t) {
            return fail("release", path, t);
        }
    }

    @Override
    public int fsync(String path, int isdatasync, FuseFileInfo fi) {
        try {
            FileChannel ch = channel(fi);
            if (ch == null) {
                return -Errno.EBADF.intValue();
            }
            ch.force(isdatasync == 0);
            return 0;
        } catch (Throwable t) {
            return fail("fsync", path, t);
        }
    }

    @Override
    public int opendir(String path, FuseFileInfo fi) {
        try {
            return Files.isDirectory(Paths.get(real(path))) ? 0 : -Errno.ENOTDIR.intValue();
        } catch (Throwable t) {
            return fail("opendir", path, t);
        }
    }

    @Override
    public int readdir(String path, Pointer buf, FuseFillDir filler, @off_t long offset, FuseFileInfo fi) {
        try {
            // Offset 0 for every entry: libfuse collects the whole listing and pages it to the kernel.
            fill(filler, buf, ".");
            fill(filler, buf, "..");
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(Paths.get(real(path)))) {
                for (Path p : ds) {
                    if (fill(filler, buf, p.getFileName().toString()) != 0) {
                        break;
                    }
                }
            }
            return 0;
        } catch (Throwable t) {
            return fail("readdir", path, t);
        }
    }

    private static int fill(FuseFillDir filler, Pointer buf, String name) {
        // jnr-fuse's String overload passes the name without a terminating NUL.
        byte[] b = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer z = ByteBuffer.allocate(b.length + 1).put(b).put((byte) 0).flip();
        return filler.apply(buf, z, null, 0);
    }

    @Override
    public int releasedir(String path, FuseFileInfo fi) {
        return 0;
    }

    @Override
    public int fsyncdir(String path, FuseFileInfo fi) {
        return 0;
    }

    /** After unmount: the kernel sends no release for files still open when it goes away. */
    void closeOpenFiles() {
        open.values().forEach(ch -> {
            try {
                ch.close();
            } catch (IOException e) {
                LOG.log(Level.FINE, "close at exit", e);
            }
        });
    }
}
