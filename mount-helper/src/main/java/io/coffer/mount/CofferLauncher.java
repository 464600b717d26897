package io.coffer.mount;

import java.util.List;

/**
 * How to run {@code coffer ARGS...} in a new process. The command-line module supplies it (the
 * bin/coffer launcher, which picks the JVM and its memory flags per role): the helper starts the
 * proxy, the client daemon and the watchdog as processes and links none of their code.
 */
@FunctionalInterface
public interface CofferLauncher {
    List<String> command(List<String> args);
}
