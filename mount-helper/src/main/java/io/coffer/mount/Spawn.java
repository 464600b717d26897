package io.coffer.mount;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Starting the long-lived processes of a mount, and reading what they logged. */
final class Spawn {
    private static final Path SETSID = Path.of("/usr/bin/setsid");
    /** Set in the watchdog process, whose COFFER_JAVA_OPTS and MALLOC_ARENA_MAX were meant for itself alone. */
    static volatile boolean inWatchdog;

    private Spawn() {
    }

    /**
     * Starts {@code cmd} in a session of its own (setsid: a terminal's hangup or Ctrl-C must not
     * reach a mount's processes), stdin from /dev/null, stderr appended to {@code log}, stdout
     * to {@code log} too unless {@code pipeStdout}.
     */
    static Process detached(List<String> cmd, Map<String, String> env, Path log, boolean pipeStdout) throws IOException {
        List<String> full = new ArrayList<>();
        if (Files.isExecutable(SETSID)) {
            full.add(SETSID.toString());
        }
        full.addAll(cmd);
        Files.createDirectories(log.getParent());
        ProcessBuilder pb = new ProcessBuilder(full)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
        if (!pipeStdout) {
            pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        }
        if (inWatchdog) {
            // The watchdog runs with a small heap and one malloc arena of its own; the proxies and
            // daemons it restarts must not inherit them.
            pb.environment().remove("COFFER_JAVA_OPTS");
            pb.environment().remove("MALLOC_ARENA_MAX");
        }
        pb.environment().putAll(env);
        // bin/coffer probes every JVM it finds unless JAVA_HOME names a recent one: children use ours.
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        return pb.start();
    }

    /** The JVM options a child may inherit from us (a user's COFFER_JAVA_OPTS), or null. */
    static String inheritedJavaOpts() {
        return inWatchdog ? null : System.getenv("COFFER_JAVA_OPTS");
    }

    static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return 0;
        }
    }

    /** What was appended to {@code file} after {@code offset} (at most 64 KiB of it). */
    static String since(Path file, long offset) {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            long len = f.length();
            long from = Math.max(offset > len ? 0 : offset, len - 65536);
            byte[] b = new byte[(int) (len - from)];
            f.seek(from);
            f.readFully(b);
            return new String(b, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /** The last non-blank line of {@code text} that {@code wanted} accepts, or null. */
    static String lastLine(String text, java.util.function.Predicate<String> wanted) {
        String[] lines = text.split("\n");
        for (int i = lines.length - 1; i >= 0; i--) {
            String l = lines[i].strip();
            if (!l.isEmpty() && wanted.test(l)) {
                return l;
            }
        }
        return null;
    }
}
