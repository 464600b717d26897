package io.coffer.server.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.coffer.core.status.IoException;
import io.coffer.server.chunk.ChunkKey;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Chunks sealed and opened through heap and direct buffers alike, as the server passes both. */
class AesGcmCipherTest {
    private static final ChunkKey KEY = new ChunkKey(0x1a2b3c4d, 42, 7, 3);

    private static AesGcmCipher cipher() {
        byte[] dataKey = new byte[32];
        new Random(1).nextBytes(dataKey);
        return new AesGcmCipher(0x1a2b3c4d, dataKey);
    }

    private static ByteBuffer buffer(boolean direct, int size) {
        return direct ? ByteBuffer.allocateDirect(size) : ByteBuffer.allocate(size);
    }

    private static byte[] plain(int size) {
        byte[] p = new byte[size];
        new Random(size).nextBytes(p);
        return p;
    }

    @ParameterizedTest(name = "{0} bytes, plaintext direct {1}, sealed direct {2}, out direct {3}")
    @CsvSource({
        "65536, false, false, false", "65536, true, false, true", "65536, true, true, true",
        "65536, false, true, false", "4096, true, false, false", "1, false, false, true", "0, true, true, true"})
    void roundTripsWhateverTheBuffers(int size, boolean plainDirect, boolean sealedDirect, boolean outDirect)
            throws Exception {
        AesGcmCipher c = cipher();
        byte[] p = plain(size);
        ByteBuffer in = buffer(plainDirect, size + 8).position(8);
        in.put(p).flip().position(8);
        ByteBuffer sealed = c.sealChunk(KEY, in);
        assertEquals(0, in.remaining(), "sealing consumes the plaintext");
        assertEquals(size + c.chunkOverhead(), sealed.remaining());
        ByteBuffer s = buffer(sealedDirect, sealed.remaining());
        s.put(sealed).flip();

        ByteBuffer out = buffer(outDirect, size + 16).position(5);
        c.openChunk(KEY, s, out);
        assertEquals(5 + size, out.position(), "the plaintext lands at the buffer's position");
        byte[] got = new byte[size];
        out.flip().position(5);
        out.get(got);
        assertArrayEquals(p, got);
    }

    @ParameterizedTest(name = "out direct {0}")
    @CsvSource({"false", "true"})
    void aTamperedChunkLeavesTheCallersBufferUntouched(boolean outDirect) throws Exception {
        AesGcmCipher c = cipher();
        ByteBuffer sealed = c.sealChunk(KEY, ByteBuffer.wrap(plain(65536)));
        sealed.put(100, (byte) (sealed.get(100) ^ 1));
        ByteBuffer out = buffer(outDirect, 65536);
        IoException e = assertThrows(IoException.class, () -> c.openChunk(KEY, sealed, out));
        assertEquals("chunk of fs-1a2b3c4d inode 42 index 7 failed authentication", e.getMessage());
        assertEquals(0, out.position());
        for (int i = 0; i < out.capacity(); i++) {
            assertEquals(0, out.get(i), "byte " + i + " of the caller's buffer was written");
        }
    }

    @ParameterizedTest(name = "out direct {0}")
    @CsvSource({"false", "true"})
    void aChunkOpenedUnderAnotherIndexFails(boolean outDirect) throws Exception {
        AesGcmCipher c = cipher();
        ByteBuffer sealed = c.sealChunk(KEY, ByteBuffer.allocateDirect(4096));
        ChunkKey moved = new ChunkKey(KEY.fs(), KEY.inode(), KEY.index() + 1, KEY.version());
        assertThrows(IoException.class, () -> c.openChunk(moved, sealed, buffer(outDirect, 4096)));
    }
}
