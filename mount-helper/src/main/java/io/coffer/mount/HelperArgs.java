package io.coffer.mount;

import java.util.ArrayList;
import java.util.List;

/**
 * The command line that mount(8) gives a helper (mount(8), EXTERNAL HELPERS):
 * {@code mount.coffer SOURCE MOUNTPOINT [-sfnv] [-N namespace] [-o options] [-t type]}, flags in
 * any order and combinable ({@code -fv}), {@code -o} possibly repeated.
 */
public record HelperArgs(MountRequest request, boolean help) {
    public static final String USAGE = String.join("\n",
            "Usage: mount.coffer fs-XXXXXXXX[:/path] MOUNTPOINT [-sfnv] [-o OPTIONS]",
            "Mount a Coffer file system (mount(8) runs this for mount -t coffer and fstab lines).",
            "  -o OPTIONS  comma-separated mount options (tls, addr=HOST, port=N, cafile=FILE, ...)",
            "  -f          fake: check the request, start nothing",
            "  -n          do not write /etc/mtab (accepted; Coffer never writes it)",
            "  -s          sloppy: ignore unknown options (with a warning)",
            "  -v          verbose",
            "Options, exit codes and files: docs/operations.md, section mount.coffer.");

    public static HelperArgs parse(List<String> args) throws HelperException {
        List<String> positional = new ArrayList<>();
        List<String> options = new ArrayList<>();
        boolean fake = false;
        boolean verbose = false;
        boolean sloppy = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("-h") || a.equals("--help")) {
                return new HelperArgs(null, true);
            }
            if (a.equals("--")) {
                positional.addAll(args.subList(i + 1, args.size()));
                break;
            }
            if (a.startsWith("-o") || a.startsWith("-N") || a.startsWith("-t")) {
                String value;
                if (a.length() > 2) {
                    value = a.substring(2);
                } else if (i + 1 < args.size()) {
                    value = args.get(++i);
                } else {
                    throw HelperException.usage("option " + a + " needs a value");
                }
                switch (a.charAt(1)) {
                    case 'o' -> options.add(value);
                    case 'N' -> throw HelperException.usage("-N (mount namespaces) is not supported");
                    default -> {
                        // -t coffer or a subtype: the type is already known.
                    }
                }
                continue;
            }
            if (a.startsWith("-") && a.length() > 1) {
                for (char c : a.substring(1).toCharArray()) {
                    switch (c) {
                        case 'f' -> fake = true;
                        case 'v' -> verbose = true;
                        case 's' -> sloppy = true;
                        case 'n' -> {
                            // mtab: never written; /etc/mtab is the kernel's table nowadays.
                        }
                        default -> throw HelperException.usage("unknown flag -" + c + " (expected -f, -n, -s, -v, -o OPTIONS)");
                    }
                }
                continue;
            }
            positional.add(a);
        }
        if (positional.size() != 2) {
            throw HelperException.usage(positional.size() < 2 ? "expected a source and a mount point (mount.coffer "
                    + "fs-XXXXXXXX[:/path] MOUNTPOINT [-o OPTIONS])" : "too many arguments: " + positional.subList(2,
                    positional.size()));
        }
        String opts = options.isEmpty() ? null : String.join(",", options);
        return new HelperArgs(new MountRequest(positional.get(0), positional.get(1), opts, fake, verbose, sloppy), false);
    }
}
