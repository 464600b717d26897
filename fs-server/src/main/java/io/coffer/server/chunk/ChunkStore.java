package io.coffer.server.chunk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Stores chunk payloads. It never sees plaintext when the file system is encrypted: payloads
 * come sealed from the cipher. The store returns an opaque locator for each payload, which the
 * metadata store keeps in the chunk reference; every engine passes {@code ChunkStoreContract}.
 *
 * <p>Durability: payloads appended survive a kill of the server process once {@link #append}
 * returns, and a machine crash after the next {@link #sync()}. Thread-safe.
 */
public interface ChunkStore extends AutoCloseable {

    /** Stores the payloads; returns one locator per chunk, in order. */
    List<byte[]> append(List<SealedChunk> chunks) throws IOException;

    /**
     * Reads the payload stored at {@code locator} and checks that it is the record of
     * {@code key}. A missing, short, or mismatched record is an EIO error naming the chunk.
     */
    ByteBuffer read(ChunkKey key, byte[] locator) throws IOException;

    /**
     * {@link #read} into a buffer the store may reuse: valid only until the calling thread's next
     * {@code readTransient}, for a caller that decrypts the payload at once. A read of a 64 KiB
     * chunk otherwise allocates (and zeroes) 64 KiB of heap per call, ~5% of the server's CPU
     * during a cold read and most of its garbage during random 4 KiB reads.
     */
    default ByteBuffer readTransient(ChunkKey key, byte[] locator) throws IOException {
        return read(key, locator);
    }

    /**
     * The payloads of several records in one read, when the store can do that (records stored
     * one after another, as a file written in sequence is), each checked as by {@link #read} and
     * valid until the run is closed; null when it cannot, and the caller reads them one by one.
     */
    default Run readRun(List<ChunkKey> keys, List<byte[]> locators) throws IOException {
        return null;
    }

    /** Records read together; closing it lets the store reuse their memory. */
    interface Run extends AutoCloseable {
        List<ByteBuffer> payloads();

        @Override
        void close();
    }

    /** Tells the store that nothing refers to {@code locator} any more, so its space can be reclaimed. */
    void release(byte[] locator);

    /** Makes every append so far durable against a machine crash. */
    void sync() throws IOException;

    /** Bytes the store occupies on its medium. */
    long usedBytes();

    @Override
    void close() throws IOException;
}
