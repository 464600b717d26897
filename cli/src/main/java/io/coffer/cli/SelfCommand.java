package io.coffer.cli;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Builds the command line that runs this CLI again in a new process (daemons, servers, proxies). */
public final class SelfCommand {
    private SelfCommand() {
    }

    /** {@code coffer ARGS...}, through the launcher when we were started by it (it picks the JVM and its flags). */
    public static List<String> of(List<String> args) {
        List<String> cmd = new ArrayList<>();
        String launcher = System.getenv("COFFER_LAUNCHER");
        if (launcher != null && Files.isExecutable(Path.of(launcher))) {
            cmd.add(launcher);
        } else {
            cmd.add(ProcessHandle.current().info().command().orElse("java"));
            for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
                if (!a.startsWith("-agentlib") && !a.startsWith("-javaagent") && !a.startsWith("-Xrunjdwp")) {
                    cmd.add(a);
                }
            }
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(Coffer.class.getName());
        }
        cmd.addAll(args);
        return cmd;
    }

    /** Prefixes {@code setsid} so the child leaves our session and survives the terminal. */
    public static List<String> detached(List<String> cmd) {
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            List<String> c = new ArrayList<>();
            c.add("/usr/bin/setsid");
            c.addAll(cmd);
            return c;
        }
        return cmd;
    }

    /** A log directory we can write: /var/log/coffer when possible, else a temporary one. */
    public static Path logDir() {
        for (Path p : new Path[] {Path.of("/var/log/coffer"), Path.of(System.getProperty("java.io.tmpdir"), "coffer-logs")}) {
            try {
                Files.createDirectories(p);
                if (Files.isWritable(p)) {
                    return p;
                }
            } catch (IOException e) {
                // Try the next one.
            }
        }
        return Path.of(System.getProperty("java.io.tmpdir"));
    }
}
