package io.coffer.mount;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code coffer watchdog}: supervises the tunnels of all mounts of one state directory.
 *
 * <ul>
 *   <li>A proxy that dies is started again on the same port with the same configuration file,
 *   within a poll tick plus the proxy's start-up. Proxies are followed by pid and start time
 *   ({@link ProcessRef}), or by their {@link Process} once we started them ourselves.
 *   <li>Every tunnel is checked end to end ({@link HealthCheck}); after
 *   {@code health_check_failures} timeouts in a row it is hung (a stopped or deadlocked proxy):
 *   it is killed with SIGKILL and started again on the same port. A tunnel whose proxy answers
 *   but cannot reach the server is reported, not restarted: a new proxy would not help.
 *   <li>When a mount leaves /proc/self/mountinfo, its daemon is given {@code unmount_grace_sec}
 *   to exit, then its proxy is stopped and its files removed.
 * </ul>
 *
 * Started by mount.coffer it exits after {@code idle_exit_sec} without mounts; under systemd it
 * runs until stopped. Stopping the watchdog leaves every tunnel running.
 */
public final class Watchdog {
    private static final long TICK_MILLIS = 100;
    private static final long ROTATE_EVERY_MILLIS = 10_000;
    /** A health verdict is written to the state file when it changes, and at least this often. */
    private static final long HEALTH_WRITE_MILLIS = 30_000;
    /** CPU a proxy must use while a check waits to count as busy rather than stuck: 100 ms at 100 Hz. */
    private static final long BUSY_TICKS = 10;
    /** Timeouts of a busy proxy in a row after which it counts as hung anyway. */
    private static final int SLOW_LIMIT = 6;

    private final HelperPaths paths;
    private final CofferConf conf;
    private final boolean exitWhenIdle;
    private final StateStore store;
    private final RotatingLog log;
    private final PrintStream err;
    private final Map<String, Supervised> mounts = new ConcurrentHashMap<>();
    private final ExecutorService workers = Executors.newCachedThreadPool(daemonThreads("watchdog-work"));
    private final ExecutorService checks = Executors.newCachedThreadPool(daemonThreads("watchdog-check"));
    private volatile boolean stopping;
    private final CofferLauncher launcher;
    private volatile long archiveCheckAt;
    private Path archiveLogged;

    /** What the watchdog knows about one mount beyond its state file. */
    private static final class Supervised {
        final Path file;
        volatile MountState state;
        /** The proxy, when this watchdog started it (it is then our child: its exit is seen at once and it is reaped). */
        volatile Process child;
        volatile boolean busy;
        volatile boolean tearingDown;
        volatile boolean checking;
        volatile long nextCheckAt;
        int failures;
        int slow;
        long lastRestartAt;
        int quickDeaths;
        volatile long backoffUntil;
        String healthStatus;
        long healthWrittenAt;
        boolean daemonDeathLogged;

        Supervised(Path file) {
            this.file = file;
        }
    }

    public Watchdog(HelperPaths paths, CofferConf conf, CofferLauncher launcher, boolean exitWhenIdle, PrintStream err) {
        this.paths = paths;
        this.launcher = launcher;
        this.conf = conf;
        this.exitWhenIdle = exitWhenIdle;
        this.store = new StateStore(paths.stateDir());
        this.log = new RotatingLog(paths.logDir().resolve("watchdog.log"), conf, "watchdog");
        this.err = err;
    }

    private static java.util.concurrent.ThreadFactory daemonThreads(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Runs until stopped (or idle, when so asked). Returns the exit code. */
    public int run() throws HelperException {
        Spawn.inWatchdog = true;
        store.ensureDir();
        try {
            Files.createDirectories(paths.logDir());
        } catch (IOException e) {
            throw new HelperException(ExitCodes.SYSTEM, "cannot create " + paths.logDir() + ": " + e.getMessage());
        }
        FileChannel ch;
        FileLock lock = null;
        try {
            ch = FileChannel.open(paths.stateDir().resolve(WatchdogControl.LOCK), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
            // A helper may be reading our pid file: give the previous holder a moment before concluding.
            long deadline = System.currentTimeMillis() + 2000;
            while (lock == null) {
                try {
                    lock = ch.tryLock();
                } catch (OverlappingFileLockException e) {
                    lock = null;
                }
                if (lock == null) {
                    if (System.currentTimeMillis() > deadline) {
                        ch.close();
                        String pid = WatchdogControl.running(paths.stateDir()).map(r -> " (pid " + r.pid() + ")").orElse("");
                        err.println("coffer watchdog: another watchdog runs for " + paths.stateDir() + pid);
                        return ExitCodes.OK;
                    }
                    sleep(50);
                }
            }
        } catch (IOException e) {
            throw new HelperException(ExitCodes.SYSTEM, "cannot lock " + paths.stateDir().resolve(WatchdogControl.LOCK)
                    + ": " + e.getMessage());
        }
        ProcessRef self = ProcessRef.self();
        try {
            WatchdogControl.writePid(paths.stateDir(), self, true);
        } catch (IOException e) {
            throw new HelperException(ExitCodes.SYSTEM, "cannot write the watchdog pid file: " + e.getMessage());
        }
        Thread hook = new Thread(() -> {
            stopping = true;
            ClassDataArchive.abandon();
            // A restart under way records its new proxy in the state file, or that proxy would
            // hold the port unknown to the next watchdog.
            long until = System.currentTimeMillis() + 10_000;
            while (mounts.values().stream().anyMatch(m -> m.busy) && System.currentTimeMillis() < until) {
                sleep(20);
            }
            removePidFileIfOurs(self);
            log.info("watchdog stopping; tunnels keep running");
        }, "watchdog-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        log.info("watchdog started for " + paths.stateDir() + " (poll " + conf.pollIntervalMs + " ms, health check every "
                + conf.healthCheckIntervalSec + " s, timeout " + conf.healthCheckTimeoutSec + " s, "
                + conf.healthCheckFailures + " timeouts make a tunnel hung" + (exitWhenIdle ? ", exits when idle for "
                + conf.idleExitSec + " s" : "") + ")");
        long lastScan = 0;
        long lastRotate = 0;
        long idleSince = 0;
        try {
            while (!stopping) {
                long now = System.currentTimeMillis();
                if (now - lastScan >= conf.pollIntervalMs) {
                    scan();
                    lastScan = now;
                    if (exitWhenIdle) {
                        if (mounts.isEmpty()) {
                            idleSince = idleSince == 0 ? now : idleSince;
                            if (now - idleSince >= conf.idleExitSec * 1000L && exitIfStillIdle(self)) {
                                return ExitCodes.OK;
                            }
                        } else {
                            idleSince = 0;
                        }
                    }
                }
                superviseProxies(now);
                startHealthChecks(now);
                if (now - lastRotate >= ROTATE_EVERY_MILLIS) {
                    rotateLogs();
                    lastRotate = now;
                }
                sleep(TICK_MILLIS);
            }
            return ExitCodes.OK;
        } finally {
            try {
                lock.release();
                lock.channel().close();
            } catch (IOException e) {
                // Exiting anyway.
            }
        }
    }

    private boolean exitIfStillIdle(ProcessRef self) {
        try (AutoCloseable l = store.lock()) {
            if (!store.list().isEmpty()) {
                return false;
            }
            // Under the state lock: a helper that writes a state after this sees no watchdog and starts one.
            removePidFileIfOurs(self);
            stopping = true;
            log.info("no mounts for " + conf.idleExitSec + " s: watchdog exits");
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    private void removePidFileIfOurs(ProcessRef self) {
        Path info = paths.stateDir().resolve(WatchdogControl.INFO);
        try {
            String[] f = Files.readString(info).trim().split("\\s+");
            if (Long.parseLong(f[0]) == self.pid()) {
                Files.deleteIfExists(info);
                Files.deleteIfExists(paths.stateDir().resolve(WatchdogControl.PID));
            }
        } catch (IOException | RuntimeException e) {
            // Gone already, or another watchdog's.
        }
    }

    /** Reads the state files and the mount table; starts cleanups for mounts that are gone. */
    private void scan() {
        List<MountTable.Entry> table;
        try {
            table = MountTable.read();
        } catch (IOException e) {
            log.error("cannot read /proc/self/mountinfo: " + e.getMessage());
            return;
        }
        Map<Path, MountState> states = store.list();
        Set<String> present = new HashSet<>();
        for (Map.Entry<Path, MountState> e : states.entrySet()) {
            String key = e.getKey().getFileName().toString();
            present.add(key);
            Supervised s = mounts.computeIfAbsent(key, k -> new Supervised(e.getKey()));
            if (s.tearingDown) {
                continue;
            }
            MountState st = e.getValue();
            if (!s.busy) {
                s.state = st;
            }
            if (MountState.MOUNTING.equals(st.phase)) {
                ProcessRef helper = st.helperProcess();
                if (helper == null || !helper.isAlive()) {
                    log.warn("mount.coffer (pid " + st.helperPid + ") died while mounting " + st.source + " on "
                            + st.mountpoint + ": removing what it started");
                    tearDown(s, st, 0);
                }
                continue;
            }
            if (!isMounted(table, st)) {
                log.info("unmount of " + st.mountpoint + " (" + st.source + ") seen: cleaning up");
                tearDown(s, st, conf.unmountGraceSec * 1000L);
                continue;
            }
            ProcessRef daemon = st.daemonProcess();
            if (daemon != null && !daemon.isAlive() && !s.daemonDeathLogged) {
                s.daemonDeathLogged = true;
                log.error("the client daemon of " + st.mountpoint + " (pid " + st.daemonPid + ") has died; the mount "
                        + "no longer works: umount " + st.mountpoint + " and mount it again");
            }
        }
        mounts.entrySet().removeIf(e -> !present.contains(e.getKey()) && !e.getValue().busy && !e.getValue().tearingDown);
        maybeBuildArchive(states.values());
    }

    /**
     * When a coffer proxy runs and the class archive for this JVM and build is missing (first
     * mount, or a new build), builds it in the background; checked every minute, retried after
     * ten minutes when it failed.
     */
    private void maybeBuildArchive(Iterable<MountState> states) {
        long now = System.currentTimeMillis();
        if (now < archiveCheckAt) {
            return;
        }
        for (MountState st : states) {
            if ("coffer".equals(st.proxy) && MountState.MOUNTED.equals(st.phase) && st.config != null) {
                archiveCheckAt = now + 60_000;
                String ca = caFileOf(st);
                Path archive = ClassDataArchive.path(paths.stateDir());
                if (Files.isRegularFile(archive)) {
                    if (!archive.equals(archiveLogged)) {
                        archiveLogged = archive;
                        log.info("proxy class archive " + archive + " is in place");
                    }
                    return;
                }
                if (ca == null) {
                    return;
                }
                archiveCheckAt = Long.MAX_VALUE;
                workers.submit(() -> {
                    boolean ok = ClassDataArchive.build(paths, launcher, ca, log);
                    archiveCheckAt = System.currentTimeMillis() + (ok ? 60_000 : 600_000);
                });
                return;
            }
        }
    }

    private static String caFileOf(MountState st) {
        try {
            for (String line : Files.readAllLines(Path.of(st.config))) {
                if (line.startsWith("CAfile = ")) {
                    return line.substring("CAfile = ".length()).strip();
                }
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    private static boolean isMounted(List<MountTable.Entry> table, MountState st) {
        for (MountTable.Entry e : table) {
            if (e.mountPoint().equals(st.mountpoint) && e.isCoffer() && e.source().equals(st.source)) {
                return true;
            }
        }
        return false;
    }

    private void tearDown(Supervised s, MountState st, long graceMillis) {
        s.tearingDown = true;
        long t0 = System.currentTimeMillis();
        workers.submit(() -> {
            try {
                while (s.busy) {
                    sleep(20);
                }
                Teardown.run(store, s.file, st, graceMillis, log);
                Process child = s.child;
                if (child != null) {
                    child.destroyForcibly();
                    child.waitFor(2, TimeUnit.SECONDS);
                }
                log.info("cleaned up " + s.file.getFileName() + " in " + (System.currentTimeMillis() - t0) + " ms");
            } catch (Exception e) {
                log.error("cleanup of " + s.file.getFileName() + " failed: " + e);
            } finally {
                mounts.remove(s.file.getFileName().toString(), s);
            }
        });
    }

    private void superviseProxies(long now) {
        for (Supervised s : mounts.values()) {
            MountState st = s.state;
            if (st == null || s.busy || s.tearingDown || !MountState.MOUNTED.equals(st.phase) || !st.hasTunnel()) {
                continue;
            }
            if (proxyAlive(s, st) || now < s.backoffUntil) {
                continue;
            }
            restart(s, "the proxy (pid " + st.proxyPid + ") is gone");
        }
    }

    private static boolean proxyAlive(Supervised s, MountState st) {
        Process child = s.child;
        if (child != null && st.proxyPid != null && child.pid() == st.proxyPid) {
            return child.isAlive();
        }
        ProcessRef p = st.proxyProcess();
        return p != null && p.isAlive();
    }

    /** Kills the proxy of {@code s} if it still runs and starts it again on the same port. */
    private void restart(Supervised s, String reason) {
        s.busy = true;
        workers.submit(() -> {
            long t0 = System.currentTimeMillis();
            try {
                MountState st = s.state;
                ProcessRef old = st.proxyProcess();
                if (old != null && old.isAlive()) {
                    old.kill();
                    old.awaitExit(3000);
                }
                Process oldChild = s.child;
                if (oldChild != null) {
                    oldChild.destroyForcibly();
                }
                if (s.tearingDown || stopping) {
                    return;
                }
                Tunnel.Started started = Tunnel.start(st, paths.environment(), conf.proxyReadyTimeoutSec * 1000L);
                long took = System.currentTimeMillis() - t0;
                MountState updated;
                try (AutoCloseable l = store.lock()) {
                    MountState now = store.read(s.file);
                    if (now == null || !Objects.equals(now.mountTime, st.mountTime) || s.tearingDown) {
                        started.ref().stop(1000);
                        log.info("mount " + st.mountpoint + " went away while its proxy restarted; stopped the new one");
                        return;
                    }
                    now.proxyPid = started.ref().pid();
                    now.proxyStartTicks = started.ref().startTicks();
                    now.proxyStartedAt = Instant.now().toString();
                    now.proxyRestarts++;
                    now.proxyLastRestart = now.proxyStartedAt;
                    now.proxyLastRestartReason = reason;
                    store.write(s.file, now);
                    updated = now;
                }
                s.child = started.process();
                s.state = updated;
                s.failures = 0;
                s.nextCheckAt = System.currentTimeMillis() + 1000;
                long when = System.currentTimeMillis();
                s.quickDeaths = when - s.lastRestartAt < 10_000 ? s.quickDeaths + 1 : 0;
                s.lastRestartAt = when;
                // A proxy that keeps dying at once (removed certificate, broken configuration) is
                // restarted with growing pauses rather than in a tight loop.
                s.backoffUntil = s.quickDeaths == 0 ? 0 : when + Math.min(30_000L, 1000L << Math.min(5, s.quickDeaths - 1));
                log.warn("restarted the proxy of " + st.mountpoint + " on 127.0.0.1:" + st.tlsport + " in " + took
                        + " ms (" + reason + "); new pid " + updated.proxyPid + ", restart #" + updated.proxyRestarts);
            } catch (Tunnel.PortInUseException e) {
                s.backoffUntil = System.currentTimeMillis() + 2000;
                log.error("cannot restart the proxy of " + s.file.getFileName() + ": port in use: " + e.getMessage());
            } catch (Exception e) {
                s.backoffUntil = System.currentTimeMillis() + 2000;
                log.error("cannot restart the proxy of " + s.file.getFileName() + ": " + e.getMessage());
            } finally {
                s.busy = false;
            }
        });
    }

    private void startHealthChecks(long now) {
        for (Supervised s : mounts.values()) {
            MountState st = s.state;
            if (st == null || s.busy || s.tearingDown || s.checking || now < s.nextCheckAt
                    || !MountState.MOUNTED.equals(st.phase) || !st.hasTunnel()) {
                continue;
            }
            s.checking = true;
            checks.submit(() -> {
                try {
                    UUID id = st.healthClientId != null ? UUID.fromString(st.healthClientId) : UUID.randomUUID();
                    ProcessRef proxy = st.proxyProcess();
                    long cpuBefore = proxy.cpuTicks();
                    HealthCheck.Result r = HealthCheck.check("127.0.0.1", st.tlsport, id, conf.healthCheckTimeoutSec * 1000L);
                    long cpuAfter = proxy.cpuTicks();
                    onHealth(s, st, r, proxy.isStopped(), cpuBefore >= 0 && cpuAfter - cpuBefore >= BUSY_TICKS);
                } catch (RuntimeException e) {
                    log.error("health check of " + st.mountpoint + " failed: " + e);
                } finally {
                    s.checking = false;
                }
            });
        }
    }

    /**
     * @param stopped the proxy is stopped (SIGSTOP): hung for certain
     * @param busy the proxy used CPU while the check waited: slow (a starved machine), not stuck
     */
    private void onHealth(Supervised s, MountState st, HealthCheck.Result r, boolean stopped, boolean busy) {
        long now = System.currentTimeMillis();
        if (s.busy || s.tearingDown || !Objects.equals(s.state == null ? null : s.state.proxyPid, st.proxyPid)) {
            return; // The proxy changed while we checked.
        }
        String status;
        switch (r.verdict()) {
            case OK -> {
                s.failures = 0;
                s.slow = 0;
                status = "ok";
                s.nextCheckAt = now + conf.healthCheckIntervalSec * 1000L;
            }
            case TIMEOUT, REFUSED -> {
                // A proxy that works while the check waits is slow, not hung: a machine short of CPU
                // must not see its tunnels restarted (which would cost more CPU). Slow for
                // SLOW_LIMIT checks in a row counts as hung all the same (a livelock).
                boolean slow = !stopped && busy && r.verdict() == HealthCheck.Verdict.TIMEOUT;
                s.slow = slow ? s.slow + 1 : 0;
                if (stopped) {
                    // A stopped process will not answer until someone continues it: no second try.
                    s.failures = conf.healthCheckFailures;
                } else if (!slow || s.slow >= SLOW_LIMIT) {
                    s.failures++;
                }
                status = s.failures > 0 ? "hung" : "slow";
                s.nextCheckAt = now + 1000;
                log.warn("tunnel of " + st.mountpoint + " (127.0.0.1:" + st.tlsport + ", pid " + st.proxyPid
                        + ") failed its health check " + s.failures + "/" + conf.healthCheckFailures + ": " + r.detail()
                        + (stopped ? " (the proxy is stopped)" : slow ? " (the proxy is busy: slow, not hung)" : ""));
                if (s.failures >= conf.healthCheckFailures) {
                    s.slow = 0;
                    s.failures = 0;
                    recordHealth(s, st, "restarting", r, now);
                    restart(s, "hung: " + r.detail());
                    return;
                }
            }
            default -> {
                s.failures = 0;
                s.slow = 0;
                status = "unreachable";
                s.nextCheckAt = now + conf.healthCheckIntervalSec * 1000L;
            }
        }
        if (!status.equals(s.healthStatus) || now - s.healthWrittenAt >= HEALTH_WRITE_MILLIS) {
            if (!status.equals(s.healthStatus)) {
                if (status.equals("ok")) {
                    log.info("tunnel of " + st.mountpoint + " is healthy (" + r.millis() + " ms)");
                } else if (status.equals("unreachable")) {
                    log.warn("tunnel of " + st.mountpoint + " cannot reach " + st.server + ": " + r.detail());
                }
            }
            recordHealth(s, st, status, r, now);
        }
    }

    private void recordHealth(Supervised s, MountState st, String status, HealthCheck.Result r, long now) {
        try (AutoCloseable l = store.lock()) {
            MountState cur = store.read(s.file);
            if (cur == null || !Objects.equals(cur.mountTime, st.mountTime)) {
                return;
            }
            MountState.Health h = cur.health != null ? cur.health : new MountState.Health();
            h.status = status;
            h.detail = r.detail();
            h.checkedAt = Instant.ofEpochMilli(now).toString();
            h.latencyMs = r.millis();
            h.consecutiveFailures = s.failures;
            if (status.equals("ok")) {
                h.lastOkAt = h.checkedAt;
            }
            cur.health = h;
            store.write(s.file, cur);
            if (!s.busy) {
                s.state = cur;
            }
            s.healthStatus = status;
            s.healthWrittenAt = now;
        } catch (Exception e) {
            log.error("cannot record the health of " + st.mountpoint + ": " + e.getMessage());
        }
    }

    private void rotateLogs() {
        log.rotateIfNeeded();
        RotatingLog.rotateIfNeeded(paths.logDir().resolve("mount.log"), conf.logMaxBytes, conf.logBackupCount);
        RotatingLog.rotateIfNeeded(paths.logDir().resolve("watchdog.out"), conf.logMaxBytes, conf.logBackupCount);
        for (Supervised s : mounts.values()) {
            MountState st = s.state;
            if (st == null) {
                continue;
            }
            for (String f : new String[] {st.proxyLog, st.daemonLog}) {
                if (f != null) {
                    RotatingLog.rotateIfNeeded(Path.of(f), conf.logMaxBytes, conf.logBackupCount);
                }
            }
        }
    }

    /** Stops the loop (tests). */
    public void stop() {
        stopping = true;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
