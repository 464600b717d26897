package io.coffer.cli;

import io.coffer.core.FsException;
import java.io.IOException;

/** One-line error messages and exit codes for every command. */
final class Errors {
    private Errors() {
    }

    static void print(Throwable e) {
        System.err.println("coffer: " + message(e));
    }

    static String message(Throwable e) {
        Throwable t = e;
        if (t instanceof picocli.CommandLine.ExecutionException && t.getCause() != null) {
            t = t.getCause();
        }
        String m = t.getMessage();
        if (t instanceof FsException fe) {
            return (m == null ? fe.status().name() : m) + " (" + fe.status() + ")";
        }
        if (m == null || m.isBlank()) {
            return t.getClass().getSimpleName();
        }
        return m;
    }

    static int exitCode(Throwable e) {
        return e instanceof IOException || e instanceof FsException ? 1 : 2;
    }
}
