package io.coffer.cli;

import io.coffer.mount.HelperException;
import io.coffer.mount.Installer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code coffer install} / {@code coffer uninstall}. */
final class InstallCommand {
    private InstallCommand() {
    }

    static Installer installer() {
        String launcher = System.getenv("COFFER_LAUNCHER");
        String home = System.getenv("COFFER_HOME");
        if (launcher == null || home == null) {
            throw new IllegalStateException("run install through bin/coffer (COFFER_LAUNCHER and COFFER_HOME are unset)");
        }
        return new Installer(Path.of("/"), Path.of(launcher), Path.of(home), System.out);
    }

    @Command(name = "install", mixinStandardHelpOptions = true,
            description = {"Install /sbin/mount.coffer (so that mount -t coffer and fstab work), /etc/coffer/coffer.conf",
                "if absent, the watchdog's systemd unit, /var/run/coffer and /var/log/coffer."})
    static final class Install implements Callable<Integer> {
        @Override
        public Integer call() {
            try {
                return installer().install();
            } catch (HelperException e) {
                System.err.println("coffer install: " + e.getMessage());
                return e.exitCode();
            }
        }
    }

    @Command(name = "uninstall", mixinStandardHelpOptions = true,
            description = "Remove what coffer install added; files changed since are kept and named.")
    static final class Uninstall implements Callable<Integer> {
        @Option(names = "--force", description = "Uninstall even while Coffer file systems are mounted.")
        boolean force;

        @Override
        public Integer call() {
            try {
                return installer().uninstall(force);
            } catch (HelperException e) {
                System.err.println("coffer uninstall: " + e.getMessage());
                return e.exitCode();
            }
        }
    }
}
