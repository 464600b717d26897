package io.coffer.core;

/** {@code setxattr} flags: 0, XATTR_CREATE (1) or XATTR_REPLACE (2). */
public enum XattrSetMode {
    ANY, CREATE, REPLACE;

    public static XattrSetMode ofFlags(int flags) {
        if ((flags & 1) != 0) {
            return CREATE;
        }
        if ((flags & 2) != 0) {
            return REPLACE;
        }
        return ANY;
    }
}
