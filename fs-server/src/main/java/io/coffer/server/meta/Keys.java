package io.coffer.server.meta;

import java.nio.ByteBuffer;
import java.util.Arrays;

/** Big-endian key building, so byte order equals numeric order within a key space. */
public final class Keys {
    private Keys() {
    }

    public static byte[] fs(int fs) {
        return ByteBuffer.allocate(4).putInt(fs).array();
    }

    public static byte[] fsIno(int fs, long ino) {
        return ByteBuffer.allocate(12).putInt(fs).putLong(ino).array();
    }

    public static byte[] fsInoLong(int fs, long ino, long n) {
        return ByteBuffer.allocate(20).putInt(fs).putLong(ino).putLong(n).array();
    }

    public static byte[] fsInoBytes(int fs, long ino, byte[] tail) {
        return ByteBuffer.allocate(12 + tail.length).putInt(fs).putLong(ino).put(tail).array();
    }

    public static long longAt(byte[] key, int offset) {
        return ByteBuffer.wrap(key, offset, 8).getLong();
    }

    public static byte[] tail(byte[] key, int from) {
        return Arrays.copyOfRange(key, from, key.length);
    }

    /** The smallest key greater than every key that starts with {@code prefix}, or null if none. */
    public static byte[] prefixEnd(byte[] prefix) {
        byte[] end = prefix.clone();
        for (int i = end.length - 1; i >= 0; i--) {
            if (end[i] != (byte) 0xFF) {
                end[i]++;
                return Arrays.copyOf(end, i + 1);
            }
        }
        return null;
    }

    public static boolean startsWith(byte[] key, byte[] prefix) {
        if (key.length < prefix.length) {
            return false;
        }
        return Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
    }
}
