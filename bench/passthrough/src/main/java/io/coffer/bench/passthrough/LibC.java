package io.coffer.bench.passthrough;

import jnr.ffi.Pointer;

/**
 * The libc calls the passthrough forwards to. Calling them directly writes the kernel's own
 * struct stat / statvfs into the buffers libfuse hands us, so inode numbers, modes and times
 * are the backing file's, not a translation through java.nio attribute views.
 * glibc 2.33+ exports stat, lstat and mknod as real symbols (Debian 12 has 2.36).
 */
public interface LibC {
    int lstat(String path, Pointer statBuf);

    int statvfs(String path, Pointer statvfsBuf);

    int mkdir(String path, int mode);

    int mknod(String path, int mode, long dev);

    int rmdir(String path);

    int unlink(String path);

    int rename(String from, String to);

    int symlink(String target, String linkPath);

    long readlink(String path, Pointer buf, long size);

    int link(String from, String to);

    int chmod(String path, int mode);

    int lchown(String path, int uid, int gid);

    int truncate(String path, long length);

    int utimensat(int dirFd, String path, Pointer times, int flags);

    int umask(int mask);

    int geteuid();
}
