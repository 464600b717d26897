package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.coffer.mount.MountState;
import io.coffer.mount.MountTable;
import io.coffer.mount.ProcessRef;
import io.coffer.mount.StateStore;
import io.coffer.mount.WatchdogControl;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What the mount-helper tests share: a TLS-only server with certificates made by {@code coffer
 * certs}, and mount.coffer run through mount(8) with a private state directory, log directory and
 * coffer.conf (COFFER_STATE_DIR, COFFER_LOG_DIR, COFFER_CONFIG), so the tests never touch the real
 * /etc/coffer and /var/run/coffer. {@link #close()} unmounts, stops the watchdog and every process
 * of every mount, and the servers.
 */
final class MountRig implements AutoCloseable {
    private static final Object INSTALL = new Object();
    private static boolean installedByUs;

    final Path work;
    final Path state;
    final Path logs;
    final Path conf;
    final Path certs;
    final Path ca;
    final Map<String, String> env = new LinkedHashMap<>();
    private final List<Path> mounts = Collections.synchronizedList(new ArrayList<>());
    private final List<Process> servers = new ArrayList<>();
    /** The server's TLS port. */
    int port;
    /** Where administrative commands go (the same port, or the plaintext port behind a TLS front). */
    int adminPort;
    boolean tlsFront;

    MountRig(Path work, String extraConf) throws IOException, InterruptedException {
        this(work, extraConf, true);
    }

    /** @param helper install /sbin/mount.coffer for the run if it is missing */
    MountRig(Path work, String extraConf, boolean helper) throws IOException, InterruptedException {
        Coffer.requireFuse();
        this.work = work;
        this.state = Files.createDirectories(work.resolve("state"));
        this.logs = Files.createDirectories(work.resolve("log"));
        this.certs = work.resolve("certs");
        this.ca = certs.resolve("ca.pem");
        this.conf = work.resolve("coffer.conf");
        // A port range of its own, away from the default one that real mounts use.
        String text = "[mount]\ncafile = " + ca + "\nport_range_lower_bound = 33000\nport_range_upper_bound = 33999\n"
                + "[watchdog]\nidle_exit_sec = 10\n" + (extraConf == null ? "" : extraConf);
        Files.writeString(conf, text);
        env.put("COFFER_STATE_DIR", state.toString());
        env.put("COFFER_LOG_DIR", logs.toString());
        env.put("COFFER_CONFIG", conf.toString());
        // One class archive for the proxies of all tests (it depends on the build only).
        env.put("COFFER_CDS_DIR", Path.of(System.getProperty("java.io.tmpdir"), "coffer-it-cds").toString());
        if (helper) {
            requireHelper();
        }
    }

    /** mount -t coffer needs /sbin/mount.coffer: installed once for the test run when absent, removed at its end. */
    static void requireHelper() throws IOException, InterruptedException {
        synchronized (INSTALL) {
            Path helper = Path.of("/sbin/mount.coffer");
            if (Files.exists(helper)) {
                String text = Files.readString(helper);
                if (!text.contains(Coffer.launcher().toString())) {
                    fail("/sbin/mount.coffer runs another checkout (" + text.lines().filter(l -> l.startsWith("exec"))
                            .findFirst().orElse("?") + "); run bin/coffer install from this one");
                }
                return;
            }
            Coffer.Result r = Coffer.coffer("install");
            if (r.exit() != 0) {
                fail("bin/coffer install failed: " + r.err() + r.out());
            }
            installedByUs = true;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    Coffer.coffer("uninstall", "--force");
                } catch (Exception e) {
                    // The test run is over either way.
                }
            }));
        }
    }

    /** Certificates, then a server that terminates TLS itself (or, in builds without it, behind coffer proxy). */
    MountRig startServer() throws IOException, InterruptedException {
        if (!Files.exists(ca)) {
            coffer("certs", "init-ca", "--dir", certs.toString()).ok();
            coffer("certs", "issue", "--dir", certs.toString(), "--server", "localhost", "--ip", "127.0.0.1").ok();
        }
        port = Coffer.freePort();
        Path data = Files.createDirectories(work.resolve("data"));
        Process p = startReady(List.of("server", "--data-dir", data.toString(), "--listen", "127.0.0.1:" + port,
                "--tls-cert", certs.resolve("localhost.pem").toString(), "--tls-key", certs.resolve("localhost.key").toString(),
                "--tls-ca", ca.toString()), work.resolve("server.log"), false);
        if (p != null) {
            adminPort = port;
            return this;
        }
        if (!Files.readString(work.resolve("server.log")).contains("TLS is not built")) {
            fail("server did not start: " + Files.readString(work.resolve("server.log")));
        }
        tlsFront = true;
        adminPort = Coffer.freePort();
        startReady(List.of("server", "--data-dir", data.toString(), "--listen", "127.0.0.1:" + adminPort),
                work.resolve("server.log"), true);
        startReady(List.of("proxy", "--server", "--accept", "127.0.0.1:" + port, "--connect", "127.0.0.1:" + adminPort,
                "--cert", certs.resolve("localhost.pem").toString(), "--key", certs.resolve("localhost.key").toString()),
                work.resolve("front.log"), true);
        return this;
    }

    private Process startReady(List<String> args, Path log, boolean mustStart) throws IOException, InterruptedException {
        Path ready = work.resolve("ready-" + System.nanoTime());
        List<String> cmd = new ArrayList<>(List.of(Coffer.launcher().toString()));
        cmd.addAll(args);
        cmd.add("--ready-file");
        cmd.add(ready.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        servers.add(p);
        long deadline = System.currentTimeMillis() + 120_000;
        while (!Files.exists(ready)) {
            if (!p.isAlive()) {
                if (mustStart) {
                    fail(args.get(0) + " exited at start: " + Files.readString(log));
                }
                return null;
            }
            if (System.currentTimeMillis() > deadline) {
                fail(args.get(0) + " did not become ready: " + Files.readString(log));
            }
            Thread.sleep(20);
        }
        return p;
    }

    String createFs(String... extra) throws IOException, InterruptedException {
        List<String> a = new ArrayList<>(List.of("fs", "create", "--server", "127.0.0.1:" + adminPort));
        if (!tlsFront) {
            a.add("--tls-ca");
            a.add(ca.toString());
        }
        a.addAll(Arrays.asList(extra));
        return coffer(a.toArray(new String[0])).ok().out().trim();
    }

    /** The options that reach this rig's server over TLS (the CA comes from the rig's coffer.conf). */
    String tls() {
        return "tls,addr=127.0.0.1,port=" + port;
    }

    Path newMountpoint() throws IOException {
        return Files.createDirectories(work.resolve("mnt-" + System.nanoTime()));
    }

    /** {@code mount -t coffer -o OPTIONS SOURCE MOUNTPOINT}, as a user types it. */
    Coffer.Result mount(String source, Path mp, String options) throws IOException, InterruptedException {
        mounts.add(mp);
        return exec(Duration.ofMinutes(4), "mount", "-t", "coffer", "-o", options, source, mp.toString());
    }

    /** Unmounts {@code mp} at the end if a test mounted it some other way (mount -a). */
    void track(Path mp) {
        mounts.add(mp);
    }

    Coffer.Result umount(Path mp) throws IOException, InterruptedException {
        Coffer.Result r = exec(Duration.ofSeconds(60), "umount", mp.toString());
        if (r.exit() == 0) {
            mounts.remove(mp);
        }
        return r;
    }

    Coffer.Result coffer(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Coffer.launcher().toString()));
        cmd.addAll(Arrays.asList(args));
        return exec(Duration.ofMinutes(3), cmd.toArray(new String[0]));
    }

    Coffer.Result exec(Duration timeout, String... cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env);
        Path out = Files.createTempFile(work, "out", ".txt");
        Path err = Files.createTempFile(work, "err", ".txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process p = pb.start();
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            fail("timed out after " + timeout + ": " + String.join(" ", cmd));
        }
        Coffer.Result r = new Coffer.Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
        return r;
    }

    /** The state of the mount on {@code mp}, or null. */
    MountState stateOf(Path mp) {
        for (MountState st : new StateStore(state).list().values()) {
            if (st.mountpoint.equals(mp.toString())) {
                return st;
            }
        }
        return null;
    }

    Map<Path, MountState> states() {
        return new StateStore(state).list();
    }

    /**
     * Waits until nothing of the mount that was on {@code mp} is left: state file, proxy, daemon,
     * tunnel files. Returns how long that took after the call, in ms.
     */
    long awaitGone(Path mp, MountState was, long limitMillis) throws InterruptedException {
        long t0 = System.currentTimeMillis();
        while (true) {
            List<String> left = leftovers(mp, was);
            if (left.isEmpty()) {
                return System.currentTimeMillis() - t0;
            }
            if (System.currentTimeMillis() - t0 > limitMillis) {
                fail("after " + limitMillis + " ms, still there for " + mp + ": " + left);
            }
            Thread.sleep(20);
        }
    }

    List<String> leftovers(Path mp, MountState was) {
        List<String> left = new ArrayList<>();
        if (stateOf(mp) != null) {
            left.add("state file");
        }
        if (MountTable.find(mp).isPresent()) {
            left.add("mount");
        }
        if (was != null) {
            if (was.proxyProcess() != null && was.proxyProcess().isAlive()) {
                left.add("proxy pid " + was.proxyPid);
            }
            if (was.daemonProcess() != null && was.daemonProcess().isAlive()) {
                left.add("daemon pid " + was.daemonPid);
            }
            for (String f : new String[] {was.config, was.pidFile, was.readyFile, was.statusFile}) {
                if (f != null && Files.exists(Path.of(f))) {
                    left.add(f);
                }
            }
        }
        return left;
    }

    /** Nothing at all in the state directory but the watchdog's own files and locks. */
    void assertStateDirClean() throws IOException {
        try (var s = Files.list(state)) {
            List<String> names = s.map(p -> p.getFileName().toString())
                    .filter(n -> !n.startsWith("watchdog.") && !n.equals(".lock") && !n.equals("cds")).sorted().toList();
            assertEquals(List.of(), names, "files left in " + state);
        }
    }

    /** Asserts a failed mount: the exit code, one line on stderr containing {@code expected}, nothing left. */
    void assertFailsCleanly(Coffer.Result r, int exit, String expected, Path mp) throws IOException {
        String err = r.err().strip();
        assertEquals(exit, r.exit(), "exit code; stderr: " + err);
        assertEquals(1, err.lines().count(), "one line on stderr: " + err);
        assertTrue(err.startsWith("mount.coffer: "), err);
        assertTrue(err.contains(expected), "expected '" + expected + "' in: " + err);
        if (mp != null) {
            assertTrue(MountTable.find(mp).isEmpty(), "nothing mounted on " + mp);
        }
        assertStateDirClean();
    }

    String log(String name) throws IOException {
        Path f = logs.resolve(name);
        return Files.exists(f) ? Files.readString(f) : "";
    }

    @Override
    public void close() throws Exception {
        for (Path mp : new ArrayList<>(mounts)) {
            if (MountTable.find(mp).isPresent()) {
                exec(Duration.ofSeconds(60), "umount", mp.toString());
                if (MountTable.find(mp).isPresent()) {
                    exec(Duration.ofSeconds(30), "umount", "-l", mp.toString());
                }
            }
        }
        WatchdogControl.running(state).ifPresent(w -> w.stop(10_000));
        for (MountState st : states().values()) {
            for (ProcessRef p : new ProcessRef[] {st.daemonProcess(), st.proxyProcess()}) {
                if (p != null) {
                    p.stop(5000);
                }
            }
        }
        for (Process p : servers) {
            p.destroy();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    static boolean installedByUs() {
        return installedByUs;
    }
}
