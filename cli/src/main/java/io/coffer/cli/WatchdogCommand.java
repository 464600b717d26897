package io.coffer.cli;

import io.coffer.mount.CofferConf;
import io.coffer.mount.HelperException;
import io.coffer.mount.HelperPaths;
import io.coffer.mount.Watchdog;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code coffer watchdog}: supervises the tunnels of all mounts (see {@link Watchdog}). */
@Command(name = "watchdog", mixinStandardHelpOptions = true,
        description = {"Supervise the TLS tunnels of all Coffer mounts: restart dead or hung proxies on their port,",
            "clean up after unmounts. One per state directory; systemd runs it as coffer-watchdog.service,",
            "otherwise mount.coffer starts it. Logs to /var/log/coffer/watchdog.log."})
final class WatchdogCommand implements Callable<Integer> {
    @Option(names = "--exit-when-idle", description = "Exit after idle_exit_sec (coffer.conf) without mounts.")
    boolean exitWhenIdle;

    @Override
    public Integer call() {
        HelperPaths paths = HelperPaths.fromEnvironment();
        try {
            return new Watchdog(paths, CofferConf.load(paths.configFile()), SelfCommand::of, exitWhenIdle, System.err).run();
        } catch (HelperException e) {
            System.err.println("coffer watchdog: " + e.getMessage());
            return e.exitCode();
        }
    }
}
