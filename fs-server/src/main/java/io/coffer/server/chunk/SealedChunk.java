package io.coffer.server.chunk;

import java.nio.ByteBuffer;

/** A chunk payload ready to store (already encrypted by the file system's cipher). */
public record SealedChunk(ChunkKey key, ByteBuffer payload) {
}
