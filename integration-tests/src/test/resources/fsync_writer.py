"""Writes N blocks of 1 MiB to a file, fsync after each, printing ACK i once block i is durable.

Block i is the concatenation of sha256(b"i:j") for j in 0..32767, so the test can recompute it.
"""
import hashlib
import os
import sys


def block(i):
    return b"".join(hashlib.sha256(b"%d:%d" % (i, j)).digest() for j in range(32768))


def main(path, n):
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    for i in range(int(n)):
        data = block(i)
        off = 0
        while off < len(data):
            off += os.write(fd, data[off:])
        os.fsync(fd)
        print("ACK %d" % i, flush=True)
    os.close(fd)
    print("DONE", flush=True)


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2])
    except OSError as e:
        print("ERROR %s" % e, flush=True)
        sys.exit(1)
