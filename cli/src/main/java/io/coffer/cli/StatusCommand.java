package io.coffer.cli;

import io.coffer.mount.HelperPaths;
import io.coffer.mount.StatusReport;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code coffer status}: the mounts of this machine and their tunnels. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "List Coffer mounts: file system, server, tunnel port, TLS version and cipher, proxy pid and "
                + "health, bytes in and out.")
final class StatusCommand implements Callable<Integer> {
    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;

    @Override
    public Integer call() {
        HelperPaths paths = HelperPaths.fromEnvironment();
        List<StatusReport.Row> rows = StatusReport.collect(paths);
        if (json) {
            StatusReport.printJson(paths, rows, System.out);
        } else {
            StatusReport.printTable(paths, rows, System.out);
        }
        return 0;
    }
}
