package io.coffer.mount;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Removes what a mount left: its client daemon (given {@code graceMillis} to exit by itself, as
 * it does after an unmount, once it has flushed), then its proxy, then its files. The proxy goes
 * after the daemon because the daemon's last writes travel through it. Safe to run twice and
 * from two processes at once.
 */
final class Teardown {
    private Teardown() {
    }

    static void run(StateStore store, Path stateFile, MountState st, long graceMillis, RotatingLog log) {
        long self = ProcessHandle.current().pid();
        ProcessRef daemon = st.daemonProcess();
        if (daemon != null && daemon.pid() != self && daemon.isAlive()) {
            if (graceMillis <= 0 || !daemon.awaitExit(graceMillis)) {
                if (graceMillis > 0 && log != null) {
                    log.warn("client daemon " + daemon.pid() + " of " + st.mountpoint + " did not exit within "
                            + graceMillis + " ms of the unmount; stopping it");
                }
                daemon.stop(1000);
            }
        }
        ProcessRef proxy = st.proxyProcess();
        if (proxy != null && proxy.pid() != self) {
            proxy.stop(1000);
        }
        for (String f : new String[] {st.config, st.pidFile, st.readyFile, st.statusFile}) {
            delete(f);
        }
        try (AutoCloseable lock = store.lock()) {
            MountState now = store.read(stateFile);
            // A new mount may have reused the file name since: remove only ours.
            if (now != null && java.util.Objects.equals(now.mountTime, st.mountTime)
                    && java.util.Objects.equals(now.helperPid, st.helperPid)) {
                Files.deleteIfExists(stateFile);
            }
        } catch (Exception e) {
            if (log != null) {
                log.error("cannot remove " + stateFile + ": " + e.getMessage());
            }
        }
    }

    private static void delete(String file) {
        if (file == null) {
            return;
        }
        try {
            Files.deleteIfExists(Path.of(file));
        } catch (IOException e) {
            // Left for the next cleanup.
        }
    }
}
