package io.coffer.cli;

import io.coffer.client.MountDaemon;
import io.coffer.core.MountOptions;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The client daemon of one mount, in the foreground ({@code coffer mount} starts it). With
 * {@code --ready-line} it prints {@code READY} on stdout once the mount is usable, or
 * {@code ERROR message} if it cannot be made, and says nothing on stdout afterwards.
 */
@Command(name = "mount-daemon", hidden = true, mixinStandardHelpOptions = true,
        description = "Run the client daemon of one mount in the foreground (internal).")
final class MountDaemonCommand implements Callable<Integer> {
    @Option(names = "-o", paramLabel = "OPTIONS")
    String options;

    @Option(names = "--ready-line")
    boolean readyLine;

    @Parameters(index = "0", paramLabel = "SOURCE")
    String source;

    @Parameters(index = "1", paramLabel = "MOUNTPOINT")
    Path mountpoint;

    @Override
    public Integer call() {
        PrintStream out = System.out;
        try {
            MountOptions opts = MountOptions.parse(options);
            MountOptions.Source src = MountOptions.Source.parse(source);
            MountDaemon.Target target = ClientTransport.target(opts, src);
            MountDaemon.run(src, mountpoint, opts, target, () -> {
                if (readyLine) {
                    out.println("READY");
                    out.flush();
                    // Nothing more goes to the launcher's pipe: it is gone once we are ready.
                    System.setOut(new PrintStream(java.io.OutputStream.nullOutputStream()));
                }
            });
            return 0;
        } catch (Exception e) {
            String msg = Errors.message(e);
            if (readyLine) {
                out.println("ERROR " + msg.replace('\n', ' '));
                out.flush();
            }
            System.err.println("coffer mount: " + msg);
            return 32;
        }
    }
}
