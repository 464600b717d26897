package io.coffer.mount;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code coffer install} and {@code coffer uninstall}. Install puts {@code /sbin/mount.coffer} (a
 * script that runs this checkout's bin/coffer), {@code /etc/coffer/coffer.conf} when there is none,
 * the watchdog's systemd unit, and the state and log directories in place, and records in a
 * manifest what it created and the checksum of every file it wrote. Uninstall removes exactly
 * that: a file changed since is kept and named, and so is a directory that holds other files.
 */
public final class Installer {
    static final String MARKER = "# Installed by `coffer install`";

    private final Path root;
    private final Path launcher;
    private final Path home;
    private final PrintStream out;
    private final List<ObjectNode> entries = new ArrayList<>();

    /**
     * @param root "/" (tests: a scratch directory)
     * @param launcher the bin/coffer that mount.coffer and the unit run
     * @param home the checkout (dist/ lives there)
     */
    public Installer(Path root, Path launcher, Path home, PrintStream out) {
        this.root = root;
        this.launcher = launcher;
        this.home = home;
        this.out = out;
    }

    Path sbin() {
        return at("/sbin/mount.coffer");
    }

    Path confDir() {
        return at("/etc/coffer");
    }

    Path conf() {
        return at("/etc/coffer/coffer.conf");
    }

    Path manifest() {
        return at("/etc/coffer/.install-manifest.json");
    }

    Path unit() {
        return at("/etc/systemd/system/coffer-watchdog.service");
    }

    Path stateDir() {
        return at(HelperPaths.DEFAULT_STATE_DIR.toString());
    }

    Path logDir() {
        return at(HelperPaths.DEFAULT_LOG_DIR.toString());
    }

    private Path at(String abs) {
        return root.resolve(abs.substring(1));
    }

    private boolean systemdRuns() {
        return root.equals(Path.of("/")) && Files.isDirectory(Path.of("/run/systemd/system"));
    }

    public int install() throws HelperException {
        try {
            JsonNode previous = readManifest();
            // Entries of an earlier install stay ours (a second install must not forget what the first created).
            if (previous != null) {
                for (JsonNode e : previous.path("entries")) {
                    entries.add((ObjectNode) e);
                }
            }
            dir(confDir());
            dir(stateDir());
            dir(logDir());

            String script = "#!/bin/sh\n" + MARKER + " from " + home + "; `coffer uninstall` removes it.\n"
                    + "# mount(8) runs it as: mount.coffer SOURCE MOUNTPOINT [-sfnv] [-o OPTIONS]\n"
                    + "# The JVM coffer install ran on, unless JAVA_HOME says otherwise: bin/coffer then need not\n"
                    + "# probe every installed JVM at each mount (it skips this one if it is removed).\n"
                    + "JAVA_HOME=\"${JAVA_HOME:-" + System.getProperty("java.home") + "}\"\nexport JAVA_HOME\n"
                    + "exec " + shellQuote(launcher.toString()) + " mount.coffer \"$@\"\n";
            Path sbin = sbin();
            if (Files.exists(sbin) && !Files.readString(sbin).contains(MARKER)) {
                throw HelperException.usage(sbin + " exists and was not installed by coffer; remove it first");
            }
            file(sbin, script, "rwxr-xr-x", true);

            if (!Files.exists(conf())) {
                file(conf(), CofferConf.template(), "rw-r--r--", true);
            } else {
                out.println("kept     " + conf() + " (exists)");
            }

            Path unitSource = home.resolve("dist/systemd/coffer-watchdog.service");
            if (!Files.isReadable(unitSource)) {
                throw HelperException.usage("missing " + unitSource + ": is " + home + " a complete Coffer checkout?");
            }
            String unit = Files.readString(unitSource).replace("@COFFER@", launcher.toString());
            dir(unit().getParent());
            file(unit(), unit, "rw-r--r--", true);
            writeManifest();
            if (systemdRuns()) {
                run("systemctl", "daemon-reload");
                run("systemctl", "enable", "--now", "coffer-watchdog.service");
                out.println("enabled  coffer-watchdog.service (systemd)");
            } else {
                out.println("note     systemd is not running here: mount.coffer starts the watchdog when a mount needs it");
            }
            out.println("Installed. Mount with: mount -t coffer -o tls fs-XXXXXXXX:/ /mnt/data");
            return ExitCodes.OK;
        } catch (IOException e) {
            throw new HelperException(ExitCodes.SYSTEM, "install failed: " + e.getMessage() + " (run as root)");
        }
    }

    public int uninstall(boolean force) throws HelperException {
        try {
            JsonNode m = readManifest();
            if (m == null) {
                out.println("Coffer is not installed here (no " + manifest() + "); nothing to do.");
                return ExitCodes.OK;
            }
            List<String> active = new ArrayList<>();
            if (root.equals(Path.of("/"))) {
                for (MountTable.Entry e : MountTable.read()) {
                    if (e.isCoffer()) {
                        active.add(e.mountPoint());
                    }
                }
                if (!active.isEmpty() && !force) {
                    throw HelperException.usage("Coffer file systems are mounted on " + String.join(", ", active)
                            + ": unmount them first (or --force to uninstall anyway)");
                }
            }
            if (systemdRuns()) {
                run("systemctl", "disable", "--now", "coffer-watchdog.service");
            }
            if (active.isEmpty()) {
                WatchdogControl.running(stateDir()).ifPresent(w -> {
                    w.stop(5000);
                    out.println("stopped  the watchdog (pid " + w.pid() + ")");
                });
            } else {
                out.println("note     the watchdog keeps running for the mounts on " + String.join(", ", active));
            }
            List<String> kept = new ArrayList<>();
            List<JsonNode> list = new ArrayList<>();
            m.path("entries").forEach(list::add);
            // Files first, then directories, deepest first.
            list.sort((a, b) -> {
                boolean da = a.path("kind").asText().equals("dir");
                boolean db = b.path("kind").asText().equals("dir");
                if (da != db) {
                    return da ? 1 : -1;
                }
                return b.path("path").asText().length() - a.path("path").asText().length();
            });
            for (JsonNode e : list) {
                Path p = Path.of(e.path("path").asText());
                if (e.path("kind").asText().equals("file")) {
                    if (!Files.exists(p)) {
                        continue;
                    }
                    if (sha256(Files.readAllBytes(p)).equals(e.path("sha256").asText())) {
                        Files.delete(p);
                        out.println("removed  " + p);
                    } else {
                        kept.add(p + " (changed since install)");
                    }
                } else {
                    if (!Files.isDirectory(p)) {
                        continue;
                    }
                    if (p.equals(stateDir())) {
                        deleteTree(p.resolve("cds"));
                        for (String f : List.of(".lock", WatchdogControl.LOCK, "watchdog.spawn.lock", WatchdogControl.PID,
                                WatchdogControl.INFO)) {
                            Files.deleteIfExists(p.resolve(f));
                        }
                    }
                    if (p.equals(confDir())) {
                        Files.deleteIfExists(manifest());
                    }
                    int n = count(p);
                    if (n == 0) {
                        Files.delete(p);
                        out.println("removed  " + p + "/");
                    } else {
                        kept.add(p + "/ (holds " + n + " file" + (n == 1 ? "" : "s") + " not installed by coffer)");
                    }
                }
            }
            Files.deleteIfExists(manifest());
            if (systemdRuns()) {
                run("systemctl", "daemon-reload");
            }
            for (String k : kept) {
                out.println("kept     " + k);
            }
            out.println("Uninstalled.");
            return ExitCodes.OK;
        } catch (IOException e) {
            throw new HelperException(ExitCodes.SYSTEM, "uninstall failed: " + e.getMessage() + " (run as root)");
        }
    }

    private void dir(Path p) throws IOException {
        if (Files.isDirectory(p)) {
            return;
        }
        Path first = p;
        while (first.getParent() != null && !Files.exists(first.getParent())) {
            first = first.getParent();
        }
        Files.createDirectories(p);
        // Record every directory we created, top one included, so that uninstall can remove them.
        for (Path d = p; d != null && d.startsWith(first); d = d.getParent()) {
            record("dir", d, null);
        }
        out.println("created  " + p + "/");
    }

    private void file(Path p, String text, String mode, boolean overwrite) throws IOException {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        if (Files.exists(p) && !overwrite) {
            return;
        }
        boolean same = Files.exists(p) && sha256(Files.readAllBytes(p)).equals(sha256(b));
        Path tmp = p.resolveSibling("." + p.getFileName() + ".tmp");
        Files.write(tmp, b);
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString(mode));
        Files.move(tmp, p, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        record("file", p, sha256(b));
        out.println((same ? "kept     " : "wrote    ") + p);
    }

    private void record(String kind, Path p, String sha) {
        entries.removeIf(e -> e.path("path").asText().equals(p.toString()));
        ObjectNode n = StateStore.JSON.createObjectNode();
        n.put("kind", kind);
        n.put("path", p.toString());
        if (sha != null) {
            n.put("sha256", sha);
        }
        entries.add(n);
    }

    private JsonNode readManifest() throws IOException {
        if (!Files.exists(manifest())) {
            return null;
        }
        return StateStore.JSON.readTree(Files.readAllBytes(manifest()));
    }

    private void writeManifest() throws IOException {
        ObjectNode m = StateStore.JSON.createObjectNode();
        m.put("version", 1);
        m.put("launcher", launcher.toString());
        m.put("installed_at", java.time.Instant.now().toString());
        ArrayNode a = m.putArray("entries");
        entries.forEach(a::add);
        StateStore.writeAtomically(manifest(), StateStore.JSON.writeValueAsString(m));
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static int count(Path dir) throws IOException {
        int n = 0;
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path ignored : s) {
                n++;
            }
        }
        return n;
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String shellQuote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    private void run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String o = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                out.println("warning  " + String.join(" ", cmd) + " failed: " + o);
            }
        } catch (IOException e) {
            out.println("warning  " + String.join(" ", cmd) + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
