package io.coffer.cli;

import io.coffer.client.MountDaemon;
import io.coffer.core.MountOptions;
import io.coffer.mount.HelperException;
import io.coffer.mount.HelperPaths;
import io.coffer.mount.MountHelper;
import io.coffer.mount.MountRequest;
import io.coffer.mount.ProcessRef;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code coffer mount}: what /sbin/mount.coffer runs (the same {@link MountHelper}), with
 * {@code -f} meaning "run the daemon in this process" as it always has here; mount(8)'s fake
 * mount is {@code --fake}. Exit codes follow mount(8): 0 success, 1 bad usage, 32 mount failure.
 */
@Command(name = "mount", mixinStandardHelpOptions = true,
        description = {"Mount a Coffer file system: coffer mount [-o OPTIONS] fs-XXXXXXXX[:/path] MOUNTPOINT",
            "The same as mount -t coffer (see docs/operations.md, mount.coffer)."},
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:mounted", "1:bad usage, options or configuration; not root", "32:mount failure"})
final class MountCommand implements Callable<Integer> {
    @Option(names = "-o", paramLabel = "OPTIONS", description = "Comma-separated mount options (repeatable).")
    List<String> options = new ArrayList<>();

    @Option(names = {"-f", "--foreground"}, description = "Run the client daemon in this process until unmounted.")
    boolean foreground;

    @Option(names = "--fake", description = "Check everything, start nothing (mount -f).")
    boolean fake;

    @Option(names = {"-s", "--sloppy"}, description = "Ignore unknown options, with a warning.")
    boolean sloppy;

    @Option(names = "-n", description = "Do not write /etc/mtab (accepted; never written).")
    boolean noMtab;

    @Option(names = {"-v", "--verbose"}, description = "Say what is done.")
    boolean verbose;

    @Parameters(index = "0", paramLabel = "SOURCE", description = "fs-XXXXXXXX[:/path]")
    String source;

    @Parameters(index = "1", paramLabel = "MOUNTPOINT")
    String mountpoint;

    @Override
    public Integer call() throws Exception {
        String opts = options.isEmpty() ? null : String.join(",", options);
        MountHelper helper = new MountHelper(HelperPaths.fromEnvironment(), SelfCommand::of, System.out, System.err,
                "coffer mount");
        MountRequest req = new MountRequest(source, mountpoint, opts, fake, verbose, sloppy);
        if (!foreground) {
            return helper.mount(req);
        }
        MountHelper.Prepared p;
        try {
            p = helper.prepare(req);
        } catch (HelperException e) {
            System.err.println("coffer mount: " + e.getMessage());
            return e.exitCode();
        }
        if (p == null) {
            return 0;
        }
        try {
            MountOptions mo = MountOptions.parse(p.daemonOptions());
            MountOptions.Source src = MountOptions.Source.parse(p.source());
            MountDaemon.run(src, p.mountpoint(), mo, ClientTransport.target(mo, src), () -> {
                try {
                    helper.mounted(p, ProcessRef.self());
                } catch (HelperException e) {
                    System.err.println("coffer mount: " + e.getMessage());
                }
            });
            return 0;
        } catch (Exception e) {
            System.err.println("coffer mount: " + Errors.message(e));
            return 32;
        } finally {
            helper.finish(p);
        }
    }
}
