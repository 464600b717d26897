package io.coffer.server.chunk;

/**
 * Which chunk a stored record holds: file system, inode, index within the file, and the
 * version written. Every write of a chunk gets a new version, so an older copy of the same
 * chunk is a different key and is refused when read in its place.
 */
public record ChunkKey(int fs, long inode, long index, long version) {
}
