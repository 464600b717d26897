package io.coffer.mount;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Starts the client daemon of a mount ({@code coffer mount-daemon --ready-line}) and waits for its
 * verdict on stdout: {@code READY} once the mount is visible, or {@code ERROR message}.
 */
final class DaemonLauncher {
    private DaemonLauncher() {
    }

    static ProcessRef start(CofferLauncher launcher, Map<String, String> env, String options, String source,
            String mountpoint, Path log, long timeoutMillis) throws HelperException {
        List<String> cmd = launcher.command(List.of("mount-daemon", "--ready-line", "-o", options, source, mountpoint));
        long offset = Spawn.size(log);
        Process p;
        try {
            p = Spawn.detached(cmd, env, log, true);
        } catch (IOException e) {
            throw HelperException.failure("cannot start the client daemon: " + e.getMessage());
        }
        ProcessRef ref = ProcessRef.of(p.pid()).orElse(new ProcessRef(p.pid(), -1));
        CompletableFuture<String> first = CompletableFuture.supplyAsync(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                return r.readLine();
            } catch (IOException e) {
                return null;
            }
        });
        String line;
        try {
            line = first.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            ref.stop(2000);
            throw HelperException.failure("the client daemon did not mount within " + timeoutMillis / 1000 + " s; see " + log);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ref.stop(2000);
            throw HelperException.failure("interrupted while mounting");
        } catch (ExecutionException e) {
            line = null;
        }
        if ("READY".equals(line)) {
            // Re-read the start time now that the JVM is surely the process behind the pid.
            return ProcessRef.of(p.pid()).orElse(ref);
        }
        if (line != null && line.startsWith("ERROR ")) {
            ref.awaitExit(5000);
            throw HelperException.failure(line.substring(6));
        }
        try {
            p.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        String why = Spawn.lastLine(Spawn.since(log, offset), l -> l.contains("ERROR") || l.contains("rror"));
        throw HelperException.failure("the client daemon exited before the mount was ready"
                + (why == null ? "" : ": " + why) + " (log: " + log + ")");
    }
}
