package io.coffer.tls;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Finding and running the Debian tools the tests use as real peers; never skips silently. */
public final class ExternalTools {
    private ExternalTools() {}

    /** The path of {@code command}, or an AssertionError naming the Debian package to install. */
    public static String require(String command, String debianPackage) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
            Path p = Path.of(dir, command);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        for (String dir : List.of("/usr/bin", "/usr/sbin", "/bin", "/sbin")) {
            Path p = Path.of(dir, command);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        throw new AssertionError("'" + command + "' is not installed: this test needs the Debian package "
                + debianPackage + " (apt-get install -y " + debianPackage + ")");
    }

    public static String stunnel() {
        return require("stunnel4", "stunnel4");
    }

    public static String openssl() {
        return require("openssl", "openssl");
    }

    /** Result of a finished command. */
    public record Result(int exitCode, String output) {}

    /** Runs a command with stdin from {@code input}, stdout and stderr merged, bounded in time. */
    public static Result run(List<String> command, byte[] input, Duration timeout) throws IOException, InterruptedException {
        return run(command, input, Duration.ZERO, timeout);
    }

    /** As {@link #run(List, byte[], Duration)}, keeping stdin open for {@code holdStdin} after the input. */
    public static Result run(List<String> command, byte[] input, Duration holdStdin, Duration timeout)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        Process p = pb.start();
        Thread feeder = new Thread(() -> {
            try (var in = p.getOutputStream()) {
                if (input != null) {
                    in.write(input);
                    in.flush();
                }
                Thread.sleep(holdStdin.toMillis());
            } catch (IOException e) {
                // the tool exited before reading everything; its output says why
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        feeder.setDaemon(true);
        feeder.start();
        StringBuilder out = new StringBuilder();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                    synchronized (out) {
                        out.append(l).append('\n');
                    }
                }
            } catch (IOException e) {
                // process gone
            }
        });
        reader.setDaemon(true);
        reader.start();
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            throw new AssertionError("command timed out after " + timeout + ": " + command + "\n" + out);
        }
        reader.join(2000);
        synchronized (out) {
            return new Result(p.exitValue(), out.toString());
        }
    }

    /** A running stunnel, stopped by {@link #close()}. */
    public static final class Stunnel implements AutoCloseable {
        private final Process process;
        private final List<String> log = new ArrayList<>();

        private Stunnel(Process process) {
            this.process = process;
        }

        /**
         * Starts {@code stunnel4 CONFIG} (which must say {@code foreground = yes}) and waits for its
         * "Configuration successful" line; stunnel has no other readiness signal.
         */
        public static Stunnel start(Path config, Duration timeout) throws IOException, InterruptedException {
            Process p = new ProcessBuilder(stunnel(), config.toString()).redirectErrorStream(true).start();
            Stunnel s = new Stunnel(p);
            Object ready = new Object();
            boolean[] ok = {false};
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    String l;
                    while ((l = r.readLine()) != null) {
                        synchronized (s.log) {
                            s.log.add(l);
                        }
                        if (l.contains("Configuration successful")) {
                            synchronized (ready) {
                                ok[0] = true;
                                ready.notifyAll();
                            }
                        }
                    }
                } catch (IOException e) {
                    // stunnel exited
                }
                synchronized (ready) {
                    ready.notifyAll();
                }
            }, "stunnel-log");
            t.setDaemon(true);
            t.start();
            long deadline = System.nanoTime() + timeout.toNanos();
            synchronized (ready) {
                while (!ok[0] && p.isAlive() && System.nanoTime() < deadline) {
                    ready.wait(100);
                }
            }
            if (!ok[0]) {
                s.close();
                throw new AssertionError("stunnel did not start:\n" + s.log());
            }
            return s;
        }

        public String log() {
            synchronized (log) {
                return String.join("\n", log);
            }
        }

        @Override
        public void close() {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
