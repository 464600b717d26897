package io.coffer.mount;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A class-data-sharing archive (CDS, JEP 350) for {@code coffer proxy}. A proxy JVM spends seconds
 * of CPU loading and verifying classes before it listens, and that is most of the time a mount
 * waits for its tunnel and most of the time a dead tunnel stays down. The watchdog builds the
 * archive once per JVM and build of the jars (a proxy started with
 * {@code -XX:ArchiveClassesAtExit} and stopped), under {@code STATE_DIR/cds/}; every proxy started
 * afterwards maps it. A stale or foreign archive is ignored by the JVM ({@code -Xshare:auto}), so
 * it can only make a start faster, never fail it.
 */
final class ClassDataArchive {
    private static final String QUIET = "-Xshare:auto -Xlog:cds=off,cds+dynamic=off";
    /** The training proxy while one runs, so that a watchdog that stops does not leave it behind. */
    private static volatile Process training;
    /** Where the running training keeps its files, removed by {@link #abandon} if the watchdog stops first. */
    private static volatile Path trainingDir;
    private static final String TRAINING = "training-";

    private ClassDataArchive() {
    }

    /** STATE_DIR/cds, or COFFER_CDS_DIR (tests share one across their private state directories). */
    static Path path(Path stateDir) {
        String dir = System.getenv("COFFER_CDS_DIR");
        Path base = dir == null || dir.isBlank() ? stateDir.resolve("cds") : Path.of(dir);
        return base.resolve("proxy-" + fingerprint() + ".jsa");
    }

    /** The JVM and the class path: an archive is only good for the very same. */
    static String fingerprint() {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update((System.getProperty("java.home") + "\n" + System.getProperty("java.vm.version") + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            for (String e : System.getProperty("java.class.path", "").split(File.pathSeparator)) {
                File f = new File(e);
                md.update((e + " " + f.length() + " " + f.lastModified() + "\n").getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The environment that makes a coffer proxy use the archive, if there is one. */
    static Map<String, String> environment(Path stateDir, Map<String, String> base) {
        Map<String, String> env = new LinkedHashMap<>(base);
        Path a = path(stateDir);
        if (Files.isRegularFile(a)) {
            String prior = Spawn.inheritedJavaOpts();
            env.put("COFFER_JAVA_OPTS", (prior == null ? "" : prior + " ") + "-XX:SharedArchiveFile=" + a + " " + QUIET);
        }
        return env;
    }

    /**
     * Builds the archive: starts a client-mode proxy like a mount's (with {@code caFile}), waits
     * until it listens, opens one connection through it and stops it; the JVM writes the archive
     * as it exits. Older archives are removed. Returns whether an archive now exists.
     */
    static boolean build(HelperPaths paths, CofferLauncher launcher, String caFile, RotatingLog log) {
        Path target = path(paths.stateDir());
        if (Files.isRegularFile(target)) {
            return true;
        }
        Path dir = target.getParent();
        sweepAbandoned(dir);
        Path tmp = dir.resolve(TRAINING + ProcessHandle.current().pid() + "-" + System.nanoTime());
        long t0 = System.currentTimeMillis();
        try {
            Files.createDirectories(tmp);
            trainingDir = tmp;
            Path conf = tmp.resolve("proxy.conf");
            Path ready = tmp.resolve("ready");
            Path jsa = tmp.resolve("proxy.jsa");
            Files.writeString(conf, "foreground = yes\npid = " + tmp.resolve("pid") + "\nsocket = l:SO_REUSEADDR=yes\n"
                    + "socket = a:SO_BINDTODEVICE=lo\n\n[training]\nclient = yes\naccept = 127.0.0.1:0\n"
                    + "connect = 127.0.0.1:9\nsslVersionMin = TLSv1.2\nrenegotiation = no\nTIMEOUTbusy = 20\n"
                    + "TIMEOUTclose = 0\ndelay = yes\nlibwrap = no\nverify = 2\nCAfile = " + caFile + "\n"
                    + "checkIP = 127.0.0.1\n");
            Map<String, String> env = new LinkedHashMap<>(paths.environment());
            env.put("COFFER_JAVA_OPTS", "-XX:ArchiveClassesAtExit=" + jsa + " " + QUIET);
            Process p = Spawn.detached(launcher.command(List.of("proxy", "--config", conf.toString(), "--ready-file",
                    ready.toString(), "--status-file", tmp.resolve("status").toString())), env, tmp.resolve("log"), false);
            training = p;
            long deadline = System.currentTimeMillis() + 120_000;
            while (!Files.exists(ready)) {
                if (!p.isAlive() || System.currentTimeMillis() > deadline) {
                    p.destroyForcibly();
                    log.warn("could not build the proxy class archive: the training proxy did not start: "
                            + Spawn.lastLine(Spawn.since(tmp.resolve("log"), 0), l -> true));
                    return false;
                }
                Thread.sleep(50);
            }
            String line = Spawn.lastLine(Files.readString(ready), l -> l.startsWith("READY training "));
            if (line != null) {
                String hostPort = line.substring(line.lastIndexOf(' ') + 1);
                int port = Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
                // One connection (its upstream connect fails) loads the classes of the data path too.
                HealthCheck.check("127.0.0.1", port, java.util.UUID.randomUUID(), 3000);
            }
            p.destroy();
            if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            if (!Files.isRegularFile(jsa)) {
                log.warn("could not build the proxy class archive: the JVM wrote none");
                return false;
            }
            try (Stream<Path> old = Files.list(dir)) {
                for (Path o : old.filter(f -> f.getFileName().toString().endsWith(".jsa")).toList()) {
                    Files.deleteIfExists(o);
                }
            }
            Files.move(jsa, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            log.info("built the proxy class archive " + target + " (" + Files.size(target) / 1024 + " KiB) in "
                    + (System.currentTimeMillis() - t0) + " ms");
            return true;
        } catch (IOException | RuntimeException e) {
            log.warn("could not build the proxy class archive: " + e);
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            Process p = training;
            training = null;
            trainingDir = null;
            if (p != null && p.isAlive()) {
                p.destroyForcibly();
            }
            deleteTree(tmp);
        }
    }

    /**
     * Stops a training proxy that is still running and removes its files (the watchdog is
     * stopping: an idle watchdog exits 30 s after the last unmount, often while the first mount
     * after an upgrade is still training, and the building thread dies with the JVM before it
     * can clean up).
     */
    static void abandon() {
        Process p = training;
        Path dir = trainingDir;
        if (p != null) {
            p.destroyForcibly();
            try {
                p.waitFor(2, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (dir != null) {
            deleteTree(dir);
        }
    }

    /**
     * Removes the training directories of watchdogs that are gone (killed, crashed) and stops a
     * training proxy one of them left running. A directory is named after its watchdog's pid; the
     * proxy's pid is in its {@code pid} file, and the proxy is only stopped if its command line
     * names the directory, so a pid since reused by another process is left alone.
     */
    static void sweepAbandoned(Path dir) {
        List<Path> found;
        try (Stream<Path> s = Files.list(dir)) {
            found = s.filter(p -> p.getFileName().toString().startsWith(TRAINING) && Files.isDirectory(p)).toList();
        } catch (IOException e) {
            return;
        }
        for (Path d : found) {
            String[] parts = d.getFileName().toString().split("-");
            long owner;
            try {
                owner = Long.parseLong(parts[1]);
            } catch (RuntimeException e) {
                continue;
            }
            if (ProcessHandle.of(owner).filter(ProcessHandle::isAlive).isPresent()) {
                continue;
            }
            try {
                long pid = Long.parseLong(Files.readString(d.resolve("pid")).trim());
                ProcessHandle.of(pid)
                        .filter(h -> h.info().commandLine().map(c -> c.contains(d.toString())).orElse(false))
                        .ifPresent(ProcessHandle::destroyForcibly);
            } catch (IOException | RuntimeException e) {
                // No proxy was started, or it wrote no pid.
            }
            deleteTree(d);
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // Left for the next attempt.
        }
    }
}
