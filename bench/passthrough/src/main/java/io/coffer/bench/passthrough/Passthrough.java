package io.coffer.bench.passthrough;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code Passthrough SOURCE_DIR MOUNTPOINT [-o OPTIONS]}: mounts SOURCE_DIR at MOUNTPOINT and
 * serves it until unmounted ({@code umount MOUNTPOINT}), then exits.
 */
public final class Passthrough {
    private Passthrough() {
    }

    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: Passthrough SOURCE_DIR MOUNTPOINT [-o OPTIONS]");
            System.exit(2);
        }
        Path source = Paths.get(args[0]);
        Path mountPoint = Paths.get(args[1]);
        if (!Files.isDirectory(source) || !Files.isDirectory(mountPoint)) {
            System.err.println("passthrough: both " + source + " and " + mountPoint + " must be directories");
            System.exit(2);
        }
        List<String> fuseOpts = new ArrayList<>(Arrays.asList(args).subList(2, args.length));
        fuseOpts.add("-o");
        fuseOpts.add("fsname=passthrough:" + source.toAbsolutePath());
        PassthroughFs fs = new PassthroughFs(source);
        try {
            // Blocking: this thread runs libfuse's loop until the kernel unmounts. A non-blocking
            // jnr-fuse mount reports success after a 2 s timeout whether or not it mounted, so the
            // caller watches /proc/mounts instead of trusting us.
            fs.mount(mountPoint, true, false, fuseOpts.toArray(new String[0]));
        } finally {
            fs.closeOpenFiles();
        }
    }
}
