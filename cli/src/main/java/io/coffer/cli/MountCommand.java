package io.coffer.cli;

import io.coffer.client.MountDaemon;
import io.coffer.core.MountOptions;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code coffer mount}: starts the client daemon of a mount in the background and returns once
 * the mount is usable (or fails with the daemon's reason). Exit codes follow mount(8): 0 success,
 * 1 bad usage, 32 mount failure.
 */
@Command(name = "mount", mixinStandardHelpOptions = true,
        description = "Mount a Coffer file system: coffer mount [-o OPTIONS] fs-XXXXXXXX[:/path] MOUNTPOINT")
final class MountCommand implements Callable<Integer> {
    @Option(names = "-o", paramLabel = "OPTIONS", description = "Comma-separated mount options (see docs/operations.md).")
    String options;

    @Option(names = {"-f", "--foreground"}, description = "Run the daemon in this process until unmounted.")
    boolean foreground;

    @Option(names = "-v", description = "Say what is done.")
    boolean verbose;

    @Parameters(index = "0", paramLabel = "SOURCE", description = "fs-XXXXXXXX[:/path]")
    String source;

    @Parameters(index = "1", paramLabel = "MOUNTPOINT")
    Path mountpoint;

    @Override
    public Integer call() throws Exception {
        MountOptions opts;
        MountOptions.Source src;
        try {
            opts = MountOptions.parse(options);
            src = MountOptions.Source.parse(source);
        } catch (Exception e) {
            System.err.println("coffer mount: " + Errors.message(e));
            return 1;
        }
        Path mp = mountpoint.toAbsolutePath().normalize();
        if (!Files.isDirectory(mp)) {
            System.err.println("coffer mount: mount point " + mp + " does not exist or is not a directory");
            return 32;
        }
        if (MountDaemon.isMounted(mp)) {
            System.err.println("coffer mount: " + mp + " is already a mount point");
            return 32;
        }
        if (foreground) {
            MountDaemonCommand d = new MountDaemonCommand();
            d.options = options;
            d.source = source;
            d.mountpoint = mp;
            return d.call();
        }
        return spawn(opts, src, mp);
    }

    private int spawn(MountOptions opts, MountOptions.Source src, Path mp) throws Exception {
        List<String> args = new ArrayList<>(List.of("mount-daemon", "--ready-line"));
        if (options != null) {
            args.add("-o");
            args.add(options);
        }
        args.add(source);
        args.add(mp.toString());
        Path log = SelfCommand.logDir().resolve("mount-" + src.fs() + "-" + mp.toString().replaceAll("[^A-Za-z0-9]+", "_") + ".log");
        ProcessBuilder pb = new ProcessBuilder(SelfCommand.detached(SelfCommand.of(args)))
                .redirectErrorStream(false)
                .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("COFFER_ROLE", "mount");
        if (verbose) {
            System.err.println("coffer mount: starting daemon, log in " + log);
        }
        Process p = pb.start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line = r.readLine();
            if ("READY".equals(line)) {
                if (verbose) {
                    System.err.println("coffer mount: " + src + " mounted on " + mp + " (daemon pid " + p.pid() + ")");
                }
                return 0;
            }
            String reason = line != null && line.startsWith("ERROR ") ? line.substring(6)
                    : "the daemon exited before the mount was ready; see " + log;
            p.waitFor(5, TimeUnit.SECONDS);
            System.err.println("coffer mount: " + reason);
            return 32;
        }
    }
}
