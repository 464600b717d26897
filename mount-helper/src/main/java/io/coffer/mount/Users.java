package io.coffer.mount;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Who runs us, from /proc/self/status (no native calls needed). */
final class Users {
    private Users() {
    }

    /** The effective user id, or -1 if it cannot be read. */
    static int effectiveUid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    String[] f = line.substring(4).trim().split("\\s+");
                    return Integer.parseInt(f[1]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    static boolean isRoot() {
        return effectiveUid() == 0;
    }
}
