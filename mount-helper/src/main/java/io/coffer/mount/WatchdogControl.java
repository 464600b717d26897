package io.coffer.mount;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Keeps one watchdog per state directory. The watchdog holds {@code watchdog.lock} (flock) for
 * its life, so a second one exits at once. {@code watchdog.pid} holds its pid alone (as pid files
 * do, for kill and scripts); {@code watchdog.info} holds "PID START-TICKS [running]", which is how
 * we tell it from a process that reused the pid, and whether it has taken over ("running") or
 * was only spawned. mount.coffer starts a watchdog when none runs and writes both files for it at
 * once, so that twenty simultaneous mounts start one watchdog and not twenty.
 */
public final class WatchdogControl {
    static final String LOCK = "watchdog.lock";
    static final String PID = "watchdog.pid";
    static final String INFO = "watchdog.info";
    private static final ReentrantLock IN_PROCESS = new ReentrantLock();

    private WatchdogControl() {
    }

    /** The running watchdog of this state directory, if any. */
    public static Optional<ProcessRef> running(Path stateDir) {
        try {
            String[] f = Files.readString(stateDir.resolve(INFO), StandardCharsets.US_ASCII).trim().split("\\s+");
            ProcessRef r = new ProcessRef(Long.parseLong(f[0]), f.length > 1 ? Long.parseLong(f[1]) : -1);
            return r.isAlive() ? Optional.of(r) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Whether the pid file says the watchdog itself took over (not only that it was spawned). */
    static boolean started(Path stateDir) {
        try {
            String[] f = Files.readString(stateDir.resolve(INFO), StandardCharsets.US_ASCII).trim().split("\\s+");
            return f.length > 2 && f[2].equals("running");
        } catch (IOException e) {
            return false;
        }
    }

    static void writePid(Path stateDir, ProcessRef r, boolean started) throws IOException {
        StateStore.writeAtomically(stateDir.resolve(INFO), r.pid() + " " + r.startTicks() + (started ? " running" : "")
                + "\n");
        StateStore.writeAtomically(stateDir.resolve(PID), r.pid() + "\n");
    }

    /** Starts a watchdog (in the background, exiting when idle) unless one runs. Never waits for it. */
    static void ensureRunning(HelperPaths paths, CofferLauncher launcher, CofferConf conf, RotatingLog log)
            throws HelperException {
        if (running(paths.stateDir()).isPresent()) {
            return;
        }
        IN_PROCESS.lock();
        try (FileChannel ch = FileChannel.open(paths.stateDir().resolve("watchdog.spawn.lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock l = ch.lock()) {
            if (running(paths.stateDir()).isPresent()) {
                return;
            }
            List<String> args = new ArrayList<>(List.of("watchdog", "--exit-when-idle"));
            java.util.Map<String, String> env = new java.util.LinkedHashMap<>(paths.environment());
            // The launcher sizes the watchdog's JVM; options meant for a mount's daemon stay off it.
            env.put("COFFER_JAVA_OPTS", "");
            Process p = Spawn.detached(launcher.command(args), env, paths.logDir().resolve("watchdog.out"), false);
            ProcessRef r = ProcessRef.of(p.pid()).orElse(new ProcessRef(p.pid(), -1));
            writePid(paths.stateDir(), r, false);
            if (log != null) {
                log.info("started the watchdog (pid " + p.pid() + ")");
            }
        } catch (IOException e) {
            throw new HelperException(ExitCodes.SYSTEM, "cannot start the watchdog: " + e.getMessage());
        } finally {
            IN_PROCESS.unlock();
        }
    }

    /** Waits until the watchdog holds its lock (it has started, not merely been spawned). */
    static boolean awaitRunning(HelperPaths paths, long millis) {
        long deadline = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < deadline) {
            if (running(paths.stateDir()).isEmpty()) {
                return false;
            }
            if (started(paths.stateDir())) {
                return true;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return running(paths.stateDir()).isPresent();
    }
}
