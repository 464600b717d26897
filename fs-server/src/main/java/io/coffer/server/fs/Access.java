package io.coffer.server.fs;

import io.coffer.core.Credentials;
import io.coffer.core.status.AccessException;

/**
 * The POSIX permission rules the server enforces itself, so that a client without a kernel in
 * front of it (DataSync, a modified daemon) gets the same answers as one mounted with
 * default_permissions.
 */
final class Access {
    static final int R = 4;
    static final int W = 2;
    static final int X = 1;

    private Access() {
    }

    static boolean allowed(InodeRecord r, Credentials c, int want) {
        if (c.isRoot()) {
            // Root bypasses read/write checks; execute needs some x bit unless it is a directory.
            if ((want & X) != 0 && r.type != io.coffer.core.FileType.DIRECTORY && (r.mode & 0111) == 0) {
                return false;
            }
            return true;
        }
        int bits;
        if (c.uid() == r.uid) {
            bits = (r.mode >> 6) & 7;
        } else if (c.inGroup(r.gid)) {
            bits = (r.mode >> 3) & 7;
        } else {
            bits = r.mode & 7;
        }
        return (bits & want) == want;
    }

    static void check(InodeRecord r, Credentials c, int want, String what) throws AccessException {
        if (!allowed(r, c, want)) {
            throw new AccessException("permission denied: " + what);
        }
    }

    static boolean isOwnerOrRoot(InodeRecord r, Credentials c) {
        return c.isRoot() || c.uid() == r.uid;
    }

    /** The sticky-bit rule for removing or renaming {@code child} out of {@code dir}. */
    static void checkSticky(InodeRecord dir, InodeRecord child, Credentials c) throws AccessException {
        if ((dir.mode & 01000) != 0 && !c.isRoot() && c.uid() != dir.uid && c.uid() != child.uid) {
            throw new AccessException("sticky directory: only the owner may remove or rename this entry");
        }
    }
}
