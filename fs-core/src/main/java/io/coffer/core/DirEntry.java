package io.coffer.core;

/**
 * One directory entry. {@code cookie} is where the next READDIR resumes; cookies are stable for
 * the life of the entry, so paging through a directory that changes neither skips nor repeats
 * entries that stay in it.
 */
public record DirEntry(String name, long cookie, FileHandle handle, FileAttributes attributes) {
}
