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

    /** mountinfo escapes space, tab, newline and backslash as three octal digits. */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && isOctal(s, i + 1)) {
                sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static boolean isOctal(String s, int from) {
        if (from + 3 > s.length()) {
            return false;
        }
        for (int i = from; i < from + 3; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '7') {
                return false;
            }
        }
        return true;
    }
}
