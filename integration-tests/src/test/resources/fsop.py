"""Runs one file-system call and prints OK (or its result) or the errno name, for the kernel tests."""
import errno
import fcntl
import os
import sys


def main(op, *args):
    try:
        if op == "create_excl":
            os.close(os.open(args[0], os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        elif op == "open_read":
            os.close(os.open(args[0], os.O_RDONLY))
        elif op == "open_write":
            os.close(os.open(args[0], os.O_WRONLY))
        elif op == "create":
            os.close(os.open(args[0], os.O_CREAT | os.O_WRONLY, 0o644))
        elif op == "mkdir":
            os.mkdir(args[0])
        elif op == "rmdir":
            os.rmdir(args[0])
        elif op == "unlink":
            os.unlink(args[0])
        elif op == "rename":
            os.rename(args[0], args[1])
        elif op == "link":
            os.link(args[0], args[1])
        elif op == "symlink":
            os.symlink(args[0], args[1])
        elif op == "listdir":
            os.listdir(args[0])
        elif op == "chmod":
            os.chmod(args[0], int(args[1], 8))
        elif op == "chown":
            os.chown(args[0], int(args[1]), int(args[2]))
        elif op == "truncate":
            os.truncate(args[0], int(args[1]))
        elif op == "read":
            with open(args[0], "rb") as f:
                f.read()
        elif op == "setxattr":
            os.setxattr(args[0], args[1], args[2].encode())
        elif op == "append":
            fd = os.open(args[0], os.O_WRONLY | os.O_APPEND)
            os.write(fd, args[1].encode())
            os.close(fd)
        elif op == "mode":
            print("%o" % (os.stat(args[0]).st_mode & 0o7777))
            return
        elif op == "setcap_net_raw":
            # struct vfs_cap_data, revision 2, effective: what setcap cap_net_raw+ep writes.
            import struct
            os.setxattr(args[0], "security.capability", struct.pack("<5I", 0x02000001, 1 << 13, 0, 0, 0))
        elif op == "getxattr":
            print(os.getxattr(args[0], args[1]).decode())
            return
        elif op == "utime_now":
            os.utime(args[0], None)
        elif op == "lockhold":
            # Take a write lock on the whole file, print LOCKED, hold it until stdin closes.
            fd = os.open(args[0], os.O_RDWR)
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            print("LOCKED", flush=True)
            sys.stdin.read()
            return
        elif op == "locktry":
            fd = os.open(args[0], os.O_RDWR)
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        elif op == "flockhold":
            fd = os.open(args[0], os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            print("LOCKED", flush=True)
            sys.stdin.read()
            return
        elif op == "flocktry":
            fd = os.open(args[0], os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        elif op == "getlk_pid":
            fd = os.open(args[0], os.O_RDWR)
            import struct
            lk = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0)
            res = fcntl.fcntl(fd, fcntl.F_GETLK, lk)
            t, w, s, l, pid = struct.unpack("hhqqi", res)
            print("UNLCK" if t == fcntl.F_UNLCK else "LOCKED_BY_OTHER")
            return
        else:
            print("unknown op " + op)
            sys.exit(2)
        print("OK")
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)))


if __name__ == "__main__":
    main(*sys.argv[1:])
