package io.coffer.server.fs;

import io.coffer.core.status.IoException;
import io.coffer.server.crypto.FsCipher;
import io.coffer.server.crypto.FsCipher.RecordKind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A chunk reference: the version written, the plaintext length held, and either where the chunk
 * store put the sealed payload ({@code locator}) or, for the small first chunk of a small file,
 * the sealed payload itself ({@code inline}), so that committing a small file costs one fsync of
 * the metadata log instead of two.
 *
 * <p>A stored chunk may also carry {@code patches}: later writes of a few KiB inside it, each
 * sealed and stored as its own record and applied over the base in order when the chunk is read.
 * A random 4 KiB write then appends 4 KiB instead of reading, decrypting, re-encrypting and
 * appending the whole chunk; the chunk is rewritten whole (patches merged) once they pass
 * {@link #MAX_PATCHES} or {@link #MAX_PATCH_BYTES}, so a read never gathers more than that.
 *
 * <p>Stored value (docs/format.md, section 3): the locators in the clear, so space can be
 * reclaimed without the data key, and the rest sealed to the file, the chunk index and those
 * locators, so a reference cannot be moved to another chunk or file, or pointed at other bytes.
 */
record ChunkRef(long version, int plainLength, byte[] locator, byte[] inline, int baseLength, List<Patch> patches) {
    static final byte KIND_LOCATOR = 0;
    static final byte KIND_INLINE = 1;
    static final byte KIND_PATCHED = 2;
    /** One locator, unpatched or inline. */
    static final byte FORMAT = 1;
    /** A base locator and the locators of its patches. */
    static final byte FORMAT_PATCHED = 2;
    static final int MAX_PATCHES = 8;
    /** Largest write kept as a patch: larger ones are cheaper to merge than to gather on every read. */
    static final int MAX_PATCH = 16 * 1024;
    static final int MAX_PATCH_BYTES = 32 * 1024;

    /** A sealed record holding bytes {@code [offset, offset + length)} of the chunk, newer than the base. */
    record Patch(long version, int offset, int length, byte[] locator) {
        int end() {
            return offset + length;
        }
    }

    static ChunkRef stored(long version, int plainLength, byte[] locator) {
        return new ChunkRef(version, plainLength, locator, null, plainLength, List.of());
    }

    static ChunkRef inlined(long version, int plainLength, byte[] sealed) {
        return new ChunkRef(version, plainLength, null, sealed, plainLength, List.of());
    }

    boolean patched() {
        return !patches.isEmpty();
    }

    int patchBytes() {
        int n = 0;
        for (Patch p : patches) {
            n += p.length;
        }
        return n;
    }

    /** Whether a write of {@code length} bytes can be added as a patch rather than rewriting the chunk. */
    boolean canPatch(int length) {
        return locator != null && length <= MAX_PATCH && patches.size() < MAX_PATCHES
                && patchBytes() + length <= MAX_PATCH_BYTES;
    }

    ChunkRef withPatch(Patch p) {
        List<Patch> ps = new ArrayList<>(patches.size() + 1);
        ps.addAll(patches);
        ps.add(p);
        return new ChunkRef(version, Math.max(plainLength, p.end()), locator, null, baseLength, List.copyOf(ps));
    }

    /** This reference with the record at {@code oldLocator} of {@code recordVersion} moved to {@code newLocator}, or null if it has none. */
    ChunkRef relocated(long recordVersion, byte[] oldLocator, byte[] newLocator) {
        if (locator != null && version == recordVersion && Arrays.equals(locator, oldLocator)) {
            return new ChunkRef(version, plainLength, newLocator, null, baseLength, patches);
        }
        for (int i = 0; i < patches.size(); i++) {
            Patch p = patches.get(i);
            if (p.version == recordVersion && Arrays.equals(p.locator, oldLocator)) {
                List<Patch> ps = new ArrayList<>(patches);
                ps.set(i, new Patch(p.version, p.offset, p.length, newLocator));
                return new ChunkRef(version, plainLength, locator, null, baseLength, List.copyOf(ps));
            }
        }
        return null;
    }

    byte[] encode(FsCipher cipher, long inode, long index) throws IOException {
        if (patched()) {
            return encodePatched(cipher, inode, index);
        }
        byte[] loc = locator != null ? locator : new byte[0];
        byte[] body = inline != null ? inline : new byte[0];
        byte[] plain = ByteBuffer.allocate(13 + body.length).putLong(version).putInt(plainLength)
                .put(inline != null ? KIND_INLINE : KIND_LOCATOR).put(body).array();
        byte[] sealed = cipher.sealRecord(RecordKind.CHUNK_REF, inode, context(index, loc), plain);
        return ByteBuffer.allocate(3 + loc.length + sealed.length).put(FORMAT).putShort((short) loc.length).put(loc)
                .put(sealed).array();
    }

    private byte[] encodePatched(FsCipher cipher, long inode, long index) throws IOException {
        int clear = 1;
        clear += 2 + locator.length;
        for (Patch p : patches) {
            clear += 2 + p.locator.length;
        }
        ByteBuffer locs = ByteBuffer.allocate(clear);
        locs.put((byte) (1 + patches.size())).putShort((short) locator.length).put(locator);
        for (Patch p : patches) {
            locs.putShort((short) p.locator.length).put(p.locator);
        }
        ByteBuffer plain = ByteBuffer.allocate(18 + 16 * patches.size());
        plain.putLong(version).putInt(plainLength).put(KIND_PATCHED).putInt(baseLength).put((byte) patches.size());
        for (Patch p : patches) {
            plain.putLong(p.version).putInt(p.offset).putInt(p.length);
        }
        byte[] sealed = cipher.sealRecord(RecordKind.CHUNK_REF, inode, context(index, locs.array()), plain.array());
        return ByteBuffer.allocate(1 + clear + sealed.length).put(FORMAT_PATCHED).put(locs.array()).put(sealed).array();
    }

    static ChunkRef decode(FsCipher cipher, long inode, long index, byte[] value) throws IOException {
        if (value.length > 0 && value[0] == FORMAT_PATCHED) {
            return decodePatched(cipher, inode, index, value);
        }
        List<byte[]> locs = locatorsOf(value);
        byte[] loc = locs.isEmpty() ? null : locs.get(0);
        byte[] sealed = Arrays.copyOfRange(value, 3 + (loc == null ? 0 : loc.length), value.length);
        ByteBuffer bb = ByteBuffer.wrap(cipher.openRecord(RecordKind.CHUNK_REF, inode,
                context(index, loc == null ? new byte[0] : loc), sealed));
        long v = bb.getLong();
        int len = bb.getInt();
        byte kind = bb.get();
        byte[] body = new byte[bb.remaining()];
        bb.get(body);
        if (kind == KIND_INLINE) {
            return inlined(v, len, body);
        }
        if (kind != KIND_LOCATOR || loc == null) {
            throw new IoException("chunk reference of inode " + inode + " index " + index + " is inconsistent");
        }
        return stored(v, len, loc);
    }

    private static ChunkRef decodePatched(FsCipher cipher, long inode, long index, byte[] value) throws IOException {
        List<byte[]> locs = locatorsOf(value);
        int clearEnd = clearEnd(value);
        byte[] clear = Arrays.copyOfRange(value, 1, clearEnd);
        byte[] sealed = Arrays.copyOfRange(value, clearEnd, value.length);
        ByteBuffer bb = ByteBuffer.wrap(cipher.openRecord(RecordKind.CHUNK_REF, inode, context(index, clear), sealed));
        try {
            long v = bb.getLong();
            int len = bb.getInt();
            byte kind = bb.get();
            int baseLen = bb.getInt();
            int count = bb.get() & 0xFF;
            if (kind != KIND_PATCHED || count + 1 != locs.size() || baseLen > len) {
                throw new IoException("chunk reference of inode " + inode + " index " + index + " is inconsistent");
            }
            List<Patch> ps = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                Patch p = new Patch(bb.getLong(), bb.getInt(), bb.getInt(), locs.get(i + 1));
                if (p.offset < 0 || p.length <= 0 || p.end() > len) {
                    throw new IoException("chunk reference of inode " + inode + " index " + index + " has a bad patch");
                }
                ps.add(p);
            }
            return new ChunkRef(v, len, locs.get(0), null, baseLen, List.copyOf(ps));
        } catch (java.nio.BufferUnderflowException e) {
            throw new IoException("chunk reference of inode " + inode + " index " + index + " is truncated");
        }
    }

    /** Every chunk-store locator a stored value refers to (none for inline data); needs no key. */
    static List<byte[]> locatorsOf(byte[] value) throws IOException {
        if (value.length >= 3 && value[0] == FORMAT) {
            int n = ((value[1] & 0xFF) << 8) | (value[2] & 0xFF);
            if (3 + n > value.length) {
                throw new IoException("chunk reference is truncated");
            }
            return n == 0 ? List.of() : List.of(Arrays.copyOfRange(value, 3, 3 + n));
        }
        if (value.length >= 2 && value[0] == FORMAT_PATCHED) {
            int count = value[1] & 0xFF;
            List<byte[]> out = new ArrayList<>(count);
            int at = 2;
            for (int i = 0; i < count; i++) {
                if (at + 2 > value.length) {
                    throw new IoException("chunk reference is truncated");
                }
                int n = ((value[at] & 0xFF) << 8) | (value[at + 1] & 0xFF);
                if (n == 0 || at + 2 + n > value.length) {
                    throw new IoException("chunk reference is truncated");
                }
                out.add(Arrays.copyOfRange(value, at + 2, at + 2 + n));
                at += 2 + n;
            }
            if (count < 2) {
                throw new IoException("chunk reference has a patch list without patches");
            }
            return out;
        }
        throw new IoException("chunk reference of an unknown format");
    }

    private static int clearEnd(byte[] value) {
        int count = value[1] & 0xFF;
        int at = 2;
        for (int i = 0; i < count; i++) {
            at += 2 + (((value[at] & 0xFF) << 8) | (value[at + 1] & 0xFF));
        }
        return at;
    }

    private static byte[] context(long index, byte[] locators) {
        return ByteBuffer.allocate(8 + locators.length).putLong(index).put(locators).array();
    }
}
