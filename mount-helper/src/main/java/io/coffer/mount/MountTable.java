package io.coffer.mount;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The kernel's table of mounts, from /proc/self/mountinfo (proc(5)). */
public final class MountTable {
    /** The kernel's file-system type of a Coffer mount (FUSE with the subtype the daemon sets). */
    public static final String FSTYPE = "fuse.coffer";

    /** One line of mountinfo. */
    public record Entry(long mountId, String device, String mountPoint, String fsType, String source) {
        public boolean isCoffer() {
            return FSTYPE.equals(fsType);
        }
    }

    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    private MountTable() {
    }

    public static List<Entry> read() throws IOException {
        return parse(Files.readAllLines(MOUNTINFO, StandardCharsets.UTF_8));
    }

    static List<Entry> parse(List<String> lines) {
        List<Entry> out = new ArrayList<>();
        for (String line : lines) {
            String[] f = line.split(" ");
            int dash = -1;
            for (int i = 6; i < f.length; i++) {
                if (f[i].equals("-")) {
                    dash = i;
                    break;
                }
            }
            if (f.length < 7 || dash < 0 || dash + 2 >= f.length) {
                continue;
            }
            try {
                out.add(new Entry(Long.parseLong(f[0]), f[2], unescape(f[4]), unescape(f[dash + 1]),
                        unescape(f[dash + 2])));
            } catch (NumberFormatException e) {
                // Not a mountinfo line.
            }
        }
        return out;
    }

    /** The topmost mount on {@code mountPoint}, if any. */
    public static Optional<Entry> find(List<Entry> table, Path mountPoint) {
        String mp = mountPoint.toString();
        Entry found = null;
        for (Entry e : table) {
            if (e.mountPoint().equals(mp)) {
                found = e;
            }
        }
        return Optional.ofNullable(found);
    }

    public static Optional<Entry> find(Path mountPoint) {
        try {
            return find(read(), mountPoint);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    static String unescape(String s) {
        return io.coffer.core.MountInfo.unescape(s);
    }
}
