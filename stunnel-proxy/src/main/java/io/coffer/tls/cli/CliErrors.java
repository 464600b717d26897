package io.coffer.tls.cli;

import java.io.PrintWriter;
import picocli.CommandLine;

/** One-line error reporting shared by the commands of this package. */
final class CliErrors {
    static final int FAILURE = 1;
    static final int USAGE = 2;

    private CliErrors() {}

    /** Prints {@code coffer <command>: error: <message>} on one line to the command's error stream. */
    static int fail(CommandLine.Model.CommandSpec spec, int code, String message) {
        PrintWriter err = spec.commandLine().getErr();
        String oneLine = message == null ? "unknown error" : message.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim();
        err.println(spec.qualifiedName() + ": error: " + oneLine);
        err.flush();
        return code;
    }

    /** A parameter handler that prints one line and a hint instead of the full usage text. */
    static CommandLine.IParameterExceptionHandler oneLineParameterErrors() {
        return (ex, args) -> {
            CommandLine cmd = ex.getCommandLine();
            PrintWriter err = cmd.getErr();
            err.println(cmd.getCommandSpec().qualifiedName() + ": error: " + ex.getMessage()
                    + " (see --help)");
            err.flush();
            return USAGE;
        };
    }
}
