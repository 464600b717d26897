package io.coffer.bench.meta;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The key layout the server is expected to use: a one-byte table tag, then big-endian ids, so
 * that unsigned byte order groups an inode's records and a directory's entries together.
 */
final class Keys {
    static final byte INODE = 'I';
    static final byte DENTRY = 'D';
    static final byte READDIR = 'R';
    static final byte CHUNK = 'C';

    private Keys() {
    }

    static byte[] inode(long ino) {
        return ByteBuffer.allocate(9).put(INODE).putLong(ino).array();
    }

    static byte[] dentry(long parent, String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(9 + n.length).put(DENTRY).putLong(parent).put(n).array();
    }

    /** Readdir order key: a stable cookie per entry, so a listing can resume after changes. */
    static byte[] readdir(long parent, long cookie) {
        return ByteBuffer.allocate(17).put(READDIR).putLong(parent).putLong(cookie).array();
    }

    static byte[] readdirPrefix(long parent) {
        return ByteBuffer.allocate(9).put(READDIR).putLong(parent).array();
    }

    static byte[] chunk(long ino, long index) {
        return ByteBuffer.allocate(17).put(CHUNK).putLong(ino).putLong(index).array();
    }

    /** The smallest key greater than every key that starts with prefix. */
    static byte[] prefixUpperBound(byte[] prefix) {
        byte[] b = prefix.clone();
        for (int i = b.length - 1; i >= 0; i--) {
            if (b[i] != (byte) 0xff) {
                b[i]++;
                return java.util.Arrays.copyOf(b, i + 1);
            }
        }
        throw new IllegalArgumentException("prefix has no upper bound");
    }

    static boolean startsWith(byte[] key, byte[] prefix) {
        return key.length >= prefix.length
                && java.util.Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
    }
}
