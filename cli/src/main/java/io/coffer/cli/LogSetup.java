package io.coffer.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * Logging for every coffer command: one line per event on standard error. Configured in code
 * rather than by a logback.xml because parsing XML costs a new JVM about a third of a second, and a
 * proxy that the watchdog restarts must listen again within two seconds. A logback.xml or
 * logback-test.xml on the class path, or {@code -Dlogback.configurationFile}, still wins.
 *
 * <p>{@code COFFER_LOG_LEVEL} sets the level of Coffer's own loggers (default INFO),
 * {@code COFFER_ROOT_LOG_LEVEL} that of everything else (default WARN); each may also be given as
 * a system property of the same name.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_LOW_PRIORITY)
public final class LogSetup extends ContextAwareBase implements Configurator {
    static final String PATTERN = "%d{yyyy-MM-dd HH:mm:ss.SSS} %-5level [%thread] %logger{24} - %msg%n";

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        ClassLoader cl = LogSetup.class.getClassLoader();
        if (System.getProperty("logback.configurationFile") != null || cl.getResource("logback-test.xml") != null
                || cl.getResource("logback.xml") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(PATTERN);
        encoder.start();
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(context);
        stderr.setName("STDERR");
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder);
        stderr.start();
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(level("COFFER_ROOT_LOG_LEVEL", Level.WARN));
        root.addAppender(stderr);
        context.getLogger("io.coffer").setLevel(level("COFFER_LOG_LEVEL", Level.INFO));
        context.getLogger("io.netty").setLevel(Level.WARN);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    private static Level level(String name, Level dflt) {
        String v = System.getProperty(name);
        if (v == null || v.isBlank()) {
            v = System.getenv(name);
        }
        return v == null || v.isBlank() ? dflt : Level.toLevel(v.strip(), dflt);
    }
}
