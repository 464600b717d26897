package io.coffer.server.crypto;

import io.coffer.core.status.IoException;
import io.coffer.server.chunk.ChunkKey;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * No encryption, for file systems created with {@code --no-encrypted}. Chunks still carry a
 * CRC32C so that corruption reads as EIO rather than as wrong data.
 */
public final class PlainCipher implements FsCipher {
    private static final byte RECORD_VERSION = 0;

    @Override
    public int chunkOverhead() {
        return 4;
    }

    @Override
    public void sealChunk(ChunkKey key, ByteBuffer plain, ByteBuffer out) {
        CRC32C crc = new CRC32C();
        crc.update(plain.duplicate());
        out.put(plain).putInt((int) crc.getValue());
    }

    @Override
    public void openChunk(ChunkKey key, ByteBuffer sealed, ByteBuffer out) throws IoException {
        if (sealed.remaining() < 4) {
            throw new IoException("chunk " + key + " is too short");
        }
        ByteBuffer data = sealed.duplicate();
        data.limit(data.limit() - 4);
        int stored = sealed.getInt(sealed.limit() - 4);
        CRC32C crc = new CRC32C();
        crc.update(data.duplicate());
        if ((int) crc.getValue() != stored) {
            throw new IoException("chunk " + key + " fails its checksum");
        }
        out.put(data);
    }

    @Override
    public byte[] nameKey(NameDomain domain, long parent, String name) {
        return name.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String name(NameDomain domain, long parent, byte[] nameKey) {
        return new String(nameKey, StandardCharsets.UTF_8);
    }

    @Override
    public byte[] sealRecord(RecordKind kind, long id, byte[] plain) {
        byte[] out = new byte[plain.length + 1];
        out[0] = RECORD_VERSION;
        System.arraycopy(plain, 0, out, 1, plain.length);
        return out;
    }

    @Override
    public byte[] openRecord(RecordKind kind, long id, byte[] sealed) throws IoException {
        if (sealed.length < 1 || sealed[0] != RECORD_VERSION) {
            throw new IoException(kind + " record " + id + " is not a plaintext record");
        }
        return Arrays.copyOfRange(sealed, 1, sealed.length);
    }

    @Override
    public byte[] sealRecord(RecordKind kind, long id, byte[] context, byte[] plain) {
        return sealRecord(kind, id, plain);
    }

    @Override
    public byte[] openRecord(RecordKind kind, long id, byte[] context, byte[] sealed) throws IoException {
        return openRecord(kind, id, sealed);
    }

    @Override
    public boolean encrypting() {
        return false;
    }

    @Override
    public void close() {
    }
}
