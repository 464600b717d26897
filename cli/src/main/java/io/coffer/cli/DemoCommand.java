package io.coffer.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code coffer demo}: the README's main job on the embedded defaults. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start a server on embedded defaults, create a file system, mount it, write and read a file.")
final class DemoCommand implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
        return Demo.run();
    }
}
