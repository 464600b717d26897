package io.coffer.tls.proxy;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.helpers.MessageFormatter;

/**
 * The proxy's event log, with stunnel's levels: events above the configured {@code debug} level are
 * dropped; the rest go to SLF4J and, when {@code output} is set, are appended to that file in
 * stunnel's line format ({@code 2024.05.01 12:00:00 LOG5[service]: message}) so that tools reading
 * stunnel logs keep working. The file is reopened on {@link #reopen()} (SIGHUP), for log rotation.
 *
 * <p>Thread-safe.
 */
final class EventLog implements AutoCloseable {
    static final int ERR = 3;
    static final int WARNING = 4;
    static final int NOTICE = 5;
    static final int INFO = 6;
    static final int DEBUG = 7;

    private static final Logger LOG = LoggerFactory.getLogger("io.coffer.tls.proxy");
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyy.MM.dd HH:mm:ss");

    private final int level;
    private final Optional<Path> output;
    private BufferedWriter writer;

    EventLog(int level, Optional<Path> output) throws IOException {
        this.level = level;
        this.output = output;
        reopen();
    }

    synchronized void reopen() throws IOException {
        if (writer != null) {
            writer.close();
            writer = null;
        }
        if (output.isPresent()) {
            writer = Files.newBufferedWriter(output.get(), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND, StandardOpenOption.WRITE);
        }
    }

    boolean enabled(int eventLevel) {
        return eventLevel <= level;
    }

    void log(int eventLevel, String service, String format, Object... args) {
        if (eventLevel > level) {
            return;
        }
        String msg = MessageFormatter.arrayFormat(format, args).getMessage();
        Throwable t = MessageFormatter.getThrowableCandidate(args);
        String withService = service == null ? msg : "[" + service + "] " + msg;
        if (eventLevel <= ERR) {
            LOG.error(withService, t);
        } else if (eventLevel == WARNING) {
            LOG.warn(withService);
        } else if (eventLevel <= INFO) {
            LOG.info(withService);
        } else {
            LOG.debug(withService, t);
        }
        synchronized (this) {
            if (writer != null) {
                try {
                    writer.write(LocalDateTime.now().format(STAMP) + " LOG" + eventLevel
                            + (service == null ? "" : "[" + service + "]") + ": " + msg);
                    writer.newLine();
                    writer.flush();
                } catch (IOException e) {
                    LOG.warn("cannot write to log output {}: {}", output.get(), e.getMessage());
                }
            }
        }
    }

    @Override
    public synchronized void close() throws IOException {
        if (writer != null) {
            writer.close();
            writer = null;
        }
    }
}
