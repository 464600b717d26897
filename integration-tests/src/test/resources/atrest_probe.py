"""File I/O with exact errno reporting, for the encryption-at-rest kernel tests.

pread PATH OFFSET LENGTH      prints "OK <sha256 of the bytes read> <count>" or the errno name
write PATH OFFSET LENGTH SEED writes LENGTH seeded pseudo-random bytes at OFFSET, fsyncs, closes;
                              prints "OK <sha256 of the bytes written>" or the errno name
"""
import errno
import hashlib
import os
import random
import sys


def main(op, *args):
    try:
        if op == "pread":
            path, off, length = args[0], int(args[1]), int(args[2])
            fd = os.open(path, os.O_RDONLY)
            try:
                data = b""
                while len(data) < length:
                    piece = os.pread(fd, length - len(data), off + len(data))
                    if not piece:
                        break
                    data += piece
            finally:
                os.close(fd)
            print("OK", hashlib.sha256(data).hexdigest(), len(data))
        elif op == "write":
            path, off, length, seed = args[0], int(args[1]), int(args[2]), int(args[3])
            data = random.Random(seed).randbytes(length)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                os.pwrite(fd, data, off)
                os.fsync(fd)
            finally:
                os.close(fd)
            print("OK", hashlib.sha256(data).hexdigest())
        else:
            print("unknown op " + op)
            sys.exit(2)
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)))


if __name__ == "__main__":
    main(*sys.argv[1:])
