package io.coffer.server.meta;

/**
 * The separate ordered key spaces of the metadata store. An engine may map them to column
 * families, tables or key prefixes; keys are compared as unsigned bytes within one space.
 * docs/format.md gives each key and value layout.
 */
public enum KeySpace {
    /** fs id → file-system record. */
    FILESYSTEMS,
    /** fs, inode → sealed inode record. */
    INODES,
    /** fs, dir inode, name key → child inode, cookie, type. */
    DIRENTS,
    /** fs, dir inode, cookie → name key: the stable order of READDIR. */
    DIRCOOKIES,
    /** fs, inode, chunk index → chunk reference. */
    CHUNKS,
    /** fs, inode, name key → sealed xattr value. */
    XATTRS,
    /** client id, xid → recorded reply (duplicate-request cache). */
    DRC,
    /** fs, inode, owner → lock record. */
    LOCKS,
    /** fs, inode → nothing: inodes whose data is being reclaimed after their last link went. */
    ORPHANS,
    /** name → counter value. */
    COUNTERS
}
