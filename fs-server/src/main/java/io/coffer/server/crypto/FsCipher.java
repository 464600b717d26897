package io.coffer.server.crypto;

import io.coffer.server.chunk.ChunkKey;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * What one file system's data looks like on the server's disk. The encrypted implementation
 * makes every chunk, name, symlink target, inode record and xattr value ciphertext; the plain
 * one (only for file systems created unencrypted) stores them as they are with checksums.
 * docs/format.md gives the byte layouts. Thread-safe.
 *
 * <p>Every open/decrypt method fails closed: authentication failure, a wrong binding (another
 * file, index or version) or a malformed input throws an EIO {@code FsException}; it never
 * returns wrong bytes.
 */
public interface FsCipher extends AutoCloseable {

    /** Bytes a sealed chunk adds to its plaintext. */
    int chunkOverhead();

    /** Seals {@code plain} (consumed) for {@code key}; the result has {@code plain.remaining() + chunkOverhead()} bytes. */
    default ByteBuffer sealChunk(ChunkKey key, ByteBuffer plain) throws IOException {
        ByteBuffer out = ByteBuffer.allocate(plain.remaining() + chunkOverhead());
        sealChunk(key, plain, out);
        return out.flip();
    }

    /**
     * Seals {@code plain} (consumed) for {@code key} into {@code out}, a heap buffer with room
     * for {@code plain.remaining() + chunkOverhead()} bytes from its position, which advances
     * past them.
     */
    void sealChunk(ChunkKey key, ByteBuffer plain, ByteBuffer out) throws IOException;

    /** Opens a sealed chunk into {@code out} (which must have room for the plaintext). */
    void openChunk(ChunkKey key, ByteBuffer sealed, ByteBuffer out) throws IOException;

    /**
     * The stored form of a name within a directory (or of an xattr name within an inode, with
     * {@link NameDomain#XATTR}): deterministic, so equal names give equal keys and lookups are
     * a point read.
     */
    byte[] nameKey(NameDomain domain, long parent, String name) throws IOException;

    /** The name a key stands for, checked against the parent it was made for. */
    String name(NameDomain domain, long parent, byte[] nameKey) throws IOException;

    /** Seals a record (inode record, xattr value) bound to its purpose and id. Randomized. */
    byte[] sealRecord(RecordKind kind, long id, byte[] plain) throws IOException;

    byte[] openRecord(RecordKind kind, long id, byte[] sealed) throws IOException;

    /**
     * Seals a record bound to its purpose, id and {@code context} (more associated data, e.g. the
     * name a directory entry is stored under), so it cannot be moved to another key.
     */
    byte[] sealRecord(RecordKind kind, long id, byte[] context, byte[] plain) throws IOException;

    byte[] openRecord(RecordKind kind, long id, byte[] context, byte[] sealed) throws IOException;

    /** True when this cipher encrypts. */
    boolean encrypting();

    /** Destroys key material held in memory. */
    @Override
    void close();

    enum NameDomain {
        DIRENT(1), XATTR(2);

        final int code;

        NameDomain(int code) {
            this.code = code;
        }
    }

    enum RecordKind {
        INODE(1), XATTR_VALUE(2), DIRENT(3), CHUNK_REF(4);

        final int code;

        RecordKind(int code) {
            this.code = code;
        }
    }
}
