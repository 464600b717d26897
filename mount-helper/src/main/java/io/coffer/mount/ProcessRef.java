package io.coffer.mount;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A process named by its pid and its start time (clock ticks since boot, field 22 of
 * /proc/PID/stat). Two processes never share both, so a pid reused after a crash is never taken
 * for the process we started, and nothing here matches command lines.
 */
public record ProcessRef(long pid, long startTicks) {

    /** What /proc/PID/stat says about a process. */
    record Stat(char state, long ppid, long startTicks, long cpuTicks) {
    }

    /** The process with this pid now, if there is one (zombies included, see {@link #isAlive()}). */
    public static Optional<ProcessRef> of(long pid) {
        return stat(pid).map(s -> new ProcessRef(pid, s.startTicks()));
    }

    static Optional<Stat> stat(long pid) {
        if (pid <= 0) {
            return Optional.empty();
        }
        String text;
        try {
            text = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
        // The command name is in parentheses and may itself hold spaces and parentheses.
        int close = text.lastIndexOf(')');
        if (close < 0) {
            return Optional.empty();
        }
        String[] f = text.substring(close + 2).trim().split(" ");
        if (f.length < 20) {
            return Optional.empty();
        }
        try {
            // utime and stime are fields 14 and 15 of the whole line.
            return Optional.of(new Stat(f[0].charAt(0), Long.parseLong(f[1]), Long.parseLong(f[19]),
                    Long.parseLong(f[11]) + Long.parseLong(f[12])));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * Whether this very process still runs. A zombie counts as gone: it no longer holds its
     * sockets, and where init does not reap (containers) it would otherwise look alive forever.
     */
    public boolean isAlive() {
        Optional<Stat> s = stat(pid);
        return s.isPresent() && s.get().startTicks() == startTicks && s.get().state() != 'Z' && s.get().state() != 'X';
    }

    /** Whether the process is stopped (SIGSTOP, or a tracer). */
    public boolean isStopped() {
        Optional<Stat> s = stat(pid);
        return s.isPresent() && s.get().startTicks() == startTicks && (s.get().state() == 'T' || s.get().state() == 't');
    }

    /** CPU time used so far (user and system, in clock ticks), or -1 if the process is gone. */
    public long cpuTicks() {
        Optional<Stat> s = stat(pid);
        return s.isPresent() && s.get().startTicks() == startTicks ? s.get().cpuTicks() : -1;
    }

    /** SIGTERM, if this process still runs. */
    public void terminate() {
        if (isAlive()) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
        }
    }

    /** SIGKILL, if this process still runs. */
    public void kill() {
        if (isAlive()) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    /** Sends a named signal (HUP, USR1, STOP, CONT) with kill(1), if this process still runs. */
    public boolean signal(String name) {
        if (!isAlive()) {
            return false;
        }
        try {
            Process p = new ProcessBuilder(List.of("kill", "-s", name, Long.toString(pid)))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Waits until the process is gone; true if it went within the time. */
    public boolean awaitExit(long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (isAlive()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return !isAlive();
            }
        }
        return true;
    }

    /** SIGTERM, then SIGKILL if it has not gone after {@code graceMillis}; true when it is gone. */
    public boolean stop(long graceMillis) {
        if (!isAlive()) {
            return true;
        }
        terminate();
        if (awaitExit(graceMillis)) {
            return true;
        }
        kill();
        return awaitExit(5000);
    }

    /** The current process. */
    public static ProcessRef self() {
        long pid = ProcessHandle.current().pid();
        return of(pid).orElse(new ProcessRef(pid, 0));
    }
}
