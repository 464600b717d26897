package io.coffer.cli;

import java.util.List;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code coffer} command. Each subcommand prints a one-line error and exits non-zero on failure. */
@Command(name = "coffer", mixinStandardHelpOptions = true, version = "coffer 0.1.0",
        description = "Coffer: a self-hosted encrypted network file system.",
        subcommands = {ServerCommand.class, FsCommand.class, KmsCommand.class, MountCommand.class, MountDaemonCommand.class,
                DemoCommand.class, MountCofferCommand.class, WatchdogCommand.class, StatusCommand.class,
                InstallCommand.Install.class, InstallCommand.Uninstall.class, CommandLine.HelpCommand.class})
public final class Coffer implements Runnable {

    /** Subcommands contributed by other modules, added when their classes are present. */
    private static final List<String> OPTIONAL = List.of(
            "io.coffer.tls.cli.ProxyCommand", "io.coffer.tls.cli.CertsCommand");

    @Override
    public void run() {
        new CommandLine(this).usage(System.err);
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Coffer());
        for (String cls : OPTIONAL) {
            try {
                Object cmd = Class.forName(cls).getDeclaredConstructor().newInstance();
                cl.addSubcommand(cmd);
            } catch (ReflectiveOperationException | LinkageError e) {
                // Not built into this distribution.
            }
        }
        cl.getSubcommands().get("fs").addSubcommand("set-policy", new FsPolicyCommand());
        for (Supplier<Object> extra : Extras.SUBCOMMANDS) {
            cl.addSubcommand(extra.get());
        }
        return withErrors(cl);
    }

    /** Every failure becomes one line on standard error and an exit code. */
    private static CommandLine withErrors(CommandLine cl) {
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            Errors.print(ex);
            return Errors.exitCode(ex);
        });
        return cl;
    }

    /**
     * Long-running commands that the mount helper and the watchdog start often: they are run
     * without building the whole command tree, whose reflection costs a fresh JVM a noticeable
     * part of the second a restarted proxy has to be listening again.
     */
    private static final java.util.Map<String, String> DIRECT = java.util.Map.of(
            "proxy", "io.coffer.tls.cli.ProxyCommand", "mount-daemon", "io.coffer.cli.MountDaemonCommand");

    static CommandLine direct(String name) {
        String cls = DIRECT.get(name);
        if (cls == null) {
            return null;
        }
        try {
            CommandLine cl = new CommandLine(Class.forName(cls).getDeclaredConstructor().newInstance());
            cl.setCommandName("coffer " + name);
            return withErrors(cl);
        } catch (ReflectiveOperationException | LinkageError e) {
            return null;
        }
    }

    public static void main(String[] args) {
        CommandLine direct = args.length > 0 ? direct(args[0]) : null;
        int code = direct != null ? direct.execute(java.util.Arrays.copyOfRange(args, 1, args.length))
                : commandLine().execute(args);
        if (code != Integer.MIN_VALUE) {
            System.exit(code);
        }
    }
}
