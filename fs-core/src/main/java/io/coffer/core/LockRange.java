package io.coffer.core;

/**
 * A byte-range lock as POSIX {@code fcntl} and BSD {@code flock} describe it. {@code length} 0
 * means "to the end of the file" (and beyond). {@code owner} identifies the lock owner within
 * the client (the kernel's lock owner); the server qualifies it with the client's session, so
 * two clients never share an owner. {@code pid} is informational, reported by F_GETLK.
 */
public record LockRange(LockType type, long start, long length, long owner, int pid, boolean flock) {
    public long end() {
        return length == 0 ? Long.MAX_VALUE : start + length;
    }

    public boolean overlaps(LockRange o) {
        return start < o.end() && o.start < end();
    }
}
