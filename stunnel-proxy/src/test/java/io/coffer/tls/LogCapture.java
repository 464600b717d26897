package io.coffer.tls;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.slf4j.LoggerFactory;

/** Captures what a logger (and its children) logs, for tests that check a refusal was logged. */
public final class LogCapture implements AutoCloseable {
    private final Logger logger;
    private final List<String> lines = new ArrayList<>();
    private final AppenderBase<ILoggingEvent> appender;

    public LogCapture(String loggerName) {
        logger = (Logger) LoggerFactory.getLogger(loggerName);
        appender = new AppenderBase<>() {
            @Override
            protected void append(ILoggingEvent e) {
                synchronized (lines) {
                    lines.add(e.getLevel() + " " + e.getFormattedMessage());
                    lines.notifyAll();
                }
            }
        };
        appender.setContext(logger.getLoggerContext());
        appender.start();
        logger.addAppender(appender);
    }

    public List<String> lines() {
        synchronized (lines) {
            return new ArrayList<>(lines);
        }
    }

    /** Waits for a line matching {@code p}; returns it or throws with everything captured. */
    public String await(Predicate<String> p, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lines) {
            while (true) {
                for (String l : lines) {
                    if (p.test(l)) {
                        return l;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("no matching log line within " + timeout + "; captured:\n"
                            + String.join("\n", lines));
                }
                lines.wait(Math.max(1, left / 1_000_000));
            }
        }
    }

    @Override
    public void close() {
        logger.detachAppender(appender);
        appender.stop();
    }
}
