package io.coffer.client.fuse;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.core.Credentials;
import io.coffer.core.FileAttributes;
import io.coffer.core.FileType;
import org.junit.jupiter.api.Test;

/** The daemon answers an unlink early only where the server's permission rules will agree. */
class RemoveRuleTest {
    private static FileAttributes node(FileType type, int mode, int uid, int gid) {
        return new FileAttributes(type, mode, 1, uid, gid, 0, 0, 0, 7, 0, 0, 0, 1);
    }

    private static Credentials user(int uid, int gid, int... groups) {
        return new Credentials(uid, gid, groups);
    }

    @Test
    void writeAndSearchPermissionOnTheDirectoryByOwnerGroupOrOthers() {
        FileAttributes file = node(FileType.REGULAR, 0644, 1000, 1000);
        assertTrue(CofferFuse.mayRemoveFrom(node(FileType.DIRECTORY, 0700, 1000, 1000), file, user(1000, 1000)));
        assertFalse(CofferFuse.mayRemoveFrom(node(FileType.DIRECTORY, 0500, 1000, 1000), file, user(1000, 1000)),
                "owner without write");
        assertFalse(CofferFuse.mayRemoveFrom(node(FileType.DIRECTORY, 0600, 1000, 1000), file, user(1000, 1000)),
                "owner without search");
        assertFalse(CofferFuse.mayRemoveFrom(node(FileType.DIRECTORY, 0077, 1000, 1000), file, user(1000, 1000)),
                "the owner's bits apply to the owner, not the group's or others'");
        assertTrue(CofferFuse.mayRemoveFrom(node(FileType.DIRECTORY, 0730, 1, 50), file, user(1000, 1000, 50)),
                "through a supplementary group");
        assertFalse(CofferFuse.mayRemoveFrom(node(FileType.DIRECTORY, 0757, 1, 50), file, user(1000, 1000, 50)),
                "a member gets the group's bits, not others'");
        assertTrue(CofferFuse.mayRemoveFrom(node(FileType.DIRECTORY, 0703, 1, 50), file, user(1000, 1000)));
        assertTrue(CofferFuse.mayRemoveFrom(node(FileType.DIRECTORY, 0500, 1, 1), file, user(0, 0)), "root");
    }

    @Test
    void theStickyBitLeavesOthersFilesAlone() {
        FileAttributes tmp = node(FileType.DIRECTORY, 01777, 0, 0);
        assertFalse(CofferFuse.mayRemoveFrom(tmp, node(FileType.REGULAR, 0666, 2000, 2000), user(1000, 1000)));
        assertTrue(CofferFuse.mayRemoveFrom(tmp, node(FileType.REGULAR, 0600, 1000, 1000), user(1000, 1000)),
                "one's own file");
        assertTrue(CofferFuse.mayRemoveFrom(node(FileType.DIRECTORY, 01777, 1000, 0),
                node(FileType.REGULAR, 0600, 2000, 2000), user(1000, 1000)), "in one's own directory");
        assertTrue(CofferFuse.mayRemoveFrom(tmp, node(FileType.REGULAR, 0600, 2000, 2000), user(0, 0)), "root");
    }
}
