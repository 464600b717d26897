package io.coffer.cli;

import io.coffer.mount.HelperArgs;
import io.coffer.mount.HelperException;
import io.coffer.mount.HelperPaths;
import io.coffer.mount.MountHelper;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/**
 * {@code coffer mount.coffer ...}: what /sbin/mount.coffer execs. The arguments are mount(8)'s
 * helper convention ({@code SOURCE MOUNTPOINT [-sfnv] [-o OPTIONS]}, where {@code -f} means a fake
 * mount), so they are parsed by {@link HelperArgs}, not by picocli.
 */
@Command(name = "mount.coffer", hidden = true,
        description = "The mount(8) helper: mount.coffer fs-XXXXXXXX[:/path] MOUNTPOINT [-sfnv] [-o OPTIONS]")
final class MountCofferCommand implements Callable<Integer> {
    @Unmatched
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() {
        HelperArgs parsed;
        try {
            parsed = HelperArgs.parse(args);
        } catch (HelperException e) {
            System.err.println("mount.coffer: " + e.getMessage());
            System.err.println(HelperArgs.USAGE);
            return e.exitCode();
        }
        if (parsed.help()) {
            System.out.println(HelperArgs.USAGE);
            return 0;
        }
        return new MountHelper(HelperPaths.fromEnvironment(), SelfCommand::of, System.out, System.err, "mount.coffer")
                .mount(parsed.request());
    }
}
