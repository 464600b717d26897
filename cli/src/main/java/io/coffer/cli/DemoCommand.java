package io.coffer.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code coffer demo}: the README's main job on the embedded defaults (see {@link Demo}). */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Show the whole product on one machine: a TLS-only server on 127.0.0.1, an encrypted file system,",
            "coffer install, mount -t coffer -o tls, a file written and read back, and its ciphertext on the server's disk.",
            "Run it again to reuse what runs; --stop unmounts and stops the server.",
            "Environment: COFFER_DEMO_DIR (/var/lib/coffer/demo), COFFER_DEMO_MOUNT (/mnt/coffer-demo), COFFER_DEMO_PORT (2049)."})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--stop", description = "Unmount the demo and stop its server.")
    boolean stop;

    @Override
    public Integer call() throws Exception {
        return stop ? Demo.stop() : Demo.run();
    }
}
