package io.coffer.it;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Drives the real {@code bin/coffer} in child processes, as a user would, and cleans up after
 * itself: every server and mount started through an instance is stopped by {@link #close()}.
 */
public final class Coffer implements AutoCloseable {
    private final List<Process> processes = Collections.synchronizedList(new ArrayList<>());
    private final List<Path> mounts = Collections.synchronizedList(new ArrayList<>());
    private final Path work;

    public Coffer(Path work) {
        this.work = work;
    }

    public static Path home() {
        String h = System.getProperty("coffer.home");
        if (h == null) {
            h = "..";
        }
        return Path.of(h).toAbsolutePath().normalize();
    }

    public static Path launcher() {
        return home().resolve("bin/coffer");
    }

    /** Fails (never skips) when this machine cannot run kernel FUSE mounts. */
    public static void requireFuse() {
        if (!Files.exists(Path.of("/dev/fuse"))) {
            fail("/dev/fuse is missing: kernel FUSE tests need the fuse module (modprobe fuse)");
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            fail("kernel FUSE tests run as root (they mount with allow_other and switch users); run the test command as root");
        }
        boolean lib = Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libfuse.so.2")) || Files.exists(Path.of("/lib/x86_64-linux-gnu/libfuse.so.2"));
        if (!lib) {
            fail("libfuse.so.2 is missing: apt-get install libfuse2");
        }
        if (!Files.isExecutable(Path.of("/usr/bin/fusermount")) && !Files.isExecutable(Path.of("/bin/fusermount"))) {
            fail("fusermount is missing: apt-get install fuse3");
        }
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Result of a command. */
    public record Result(int exit, String out, String err) {
        public Result ok() {
            if (exit != 0) {
                fail("command failed with exit " + exit + ": " + err.trim() + " " + out.trim());
            }
            return this;
        }
    }

    public static Result run(Duration timeout, List<String> cmd) throws IOException, InterruptedException {
        return run(timeout, cmd, null);
    }

    public static Result run(Duration timeout, List<String> cmd, Path dir) throws IOException, InterruptedException {
        return run(timeout, cmd, dir, Map.of());
    }

    /** Runs {@code cmd} with {@code env} added to this process's environment. */
    public static Result run(Duration timeout, List<String> cmd, Path dir, Map<String, String> env)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env);
        if (dir != null) {
            pb.directory(dir.toFile());
        }
        Path out = Files.createTempFile("coffer-it-out", ".txt");
        Path err = Files.createTempFile("coffer-it-err", ".txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            fail("command timed out after " + timeout + ": " + cmd);
        }
        Result r = new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
        return r;
    }

    public static Result sh(String script) throws IOException, InterruptedException {
        return run(Duration.ofMinutes(5), List.of("bash", "-c", script));
    }

    public static Result coffer(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(launcher().toString());
        cmd.addAll(Arrays.asList(args));
        return run(Duration.ofMinutes(2), cmd);
    }

    /** A running server process. */
    public final class Server {
        public final Path dataDir;
        public final int port;
        public final List<String> extra;
        Process process;

        Server(Path dataDir, int port, List<String> extra) {
            this.dataDir = dataDir;
            this.port = port;
            this.extra = extra;
        }

        public String address() {
            return "127.0.0.1:" + port;
        }

        public void start() throws IOException, InterruptedException {
            Path ready = work.resolve("server-" + port + ".ready");
            Files.deleteIfExists(ready);
            List<String> cmd = new ArrayList<>(List.of(launcher().toString(), "server", "--data-dir", dataDir.toString(),
                    "--listen", address(), "--ready-file", ready.toString()));
            cmd.addAll(extra);
            Path log = work.resolve("server-" + port + ".log");
            process = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            processes.add(process);
            long deadline = System.currentTimeMillis() + 60_000;
            while (!Files.exists(ready)) {
                if (!process.isAlive()) {
                    fail("server exited at start: " + Files.readString(log));
                }
                if (System.currentTimeMillis() > deadline) {
                    fail("server did not become ready: " + Files.readString(log));
                }
                Thread.sleep(20);
            }
        }

        public long pid() {
            // The launcher execs java, so the process is the JVM itself.
            return process.pid();
        }

        public void kill9() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }

        public void stop() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        }

        public String createFs(String... args) throws IOException, InterruptedException {
            List<String> a = new ArrayList<>(List.of("fs", "create", "--server", address()));
            a.addAll(Arrays.asList(args));
            return coffer(a.toArray(new String[0])).ok().out().trim();
        }

        public Path log() {
            return work.resolve("server-" + port + ".log");
        }
    }

    /** Arguments of {@code fs create} for tests that do not care about the kind of file system: the default, encrypted. */
    public static String[] defaultFsArgs() {
        return new String[0];
    }

    /** Starts a server again on the same data directory and port (after {@link Server#kill9()}). */
    public void restart(Server s) throws IOException, InterruptedException {
        s.start();
    }

    public Server server(String... extraArgs) throws IOException, InterruptedException {
        Path data = Files.createDirectories(work.resolve("data-" + System.nanoTime()));
        Server s = new Server(data, freePort(), List.of(extraArgs));
        s.start();
        return s;
    }

    /** Mounts with {@code coffer mount}; fails the test with the command's message if it does not work. */
    public Path mount(String source, String options) throws IOException, InterruptedException {
        Path mp = Files.createDirectories(work.resolve("mnt-" + System.nanoTime()));
        mountAt(source, options, mp).ok();
        return mp;
    }

    public Result mountAt(String source, String options, Path mp) throws IOException, InterruptedException {
        mounts.add(mp);
        return coffer("mount", "-o", options, source, mp.toString());
    }

    /** Mounts with {@code env} added to the command's environment (e.g. {@code COFFER_JAVA_OPTS} for the daemon). */
    public Path mount(String source, String options, Map<String, String> env) throws IOException, InterruptedException {
        Path mp = Files.createDirectories(work.resolve("mnt-" + System.nanoTime()));
        mounts.add(mp);
        run(Duration.ofMinutes(2), List.of(launcher().toString(), "mount", "-o", options, source, mp.toString()), null, env)
                .ok();
        return mp;
    }

    public void umount(Path mp) throws IOException, InterruptedException {
        Result r = run(Duration.ofSeconds(60), List.of("umount", mp.toString()));
        if (r.exit() != 0) {
            run(Duration.ofSeconds(30), List.of("umount", "-l", mp.toString()));
            fail("umount " + mp + " failed: " + r.err());
        }
        mounts.remove(mp);
        // The daemon exits after the kernel lets go of the mount.
        long deadline = System.currentTimeMillis() + 10_000;
        while (isMounted(mp) && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
    }

    public static boolean isMounted(Path mp) throws IOException {
        String target = mp.toAbsolutePath().normalize().toString();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            if (f.length > 4 && f[4].equals(target)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() throws Exception {
        for (Path mp : new ArrayList<>(mounts)) {
            if (isMounted(mp)) {
                run(Duration.ofSeconds(30), List.of("umount", mp.toString()));
                if (isMounted(mp)) {
                    run(Duration.ofSeconds(30), List.of("umount", "-l", mp.toString()));
                }
            }
        }
        for (Process p : new ArrayList<>(processes)) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    /** Waits for an attribute/entry cache timeout to pass (mounts use 1 s). */
    public static void afterCacheTimeout() throws InterruptedException {
        Thread.sleep(1300);
    }

    /** Empties the kernel's page cache so reads go to the file system. */
    public static void dropCaches() throws IOException, InterruptedException {
        sh("sync; echo 3 > /proc/sys/vm/drop_caches").ok();
    }

    /** SHA-256 of a file, read in 1 MiB pieces. */
    public static String sha256(Path f) throws IOException {
        try (var ch = java.nio.channels.FileChannel.open(f)) {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(1 << 20);
            while (ch.read(b) > 0) {
                b.flip();
                md.update(b);
                b.clear();
            }
            return java.util.HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
