package io.coffer.mount;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * A line log in /var/log/coffer with size-based rotation (FILE.1 … FILE.N, oldest dropped).
 * Lines are appended with O_APPEND, so several processes can write one file (every mount.coffer
 * appends to mount.log). Files that other processes hold open on their stderr (a proxy's, a
 * daemon's) are rotated by copy and truncate, which their O_APPEND descriptors survive.
 */
public final class RotatingLog {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS");

    private final Path file;
    private final CofferConf.LogLevel level;
    private final long maxBytes;
    private final int keep;
    private final String tag;

    public RotatingLog(Path file, CofferConf conf, String tag) {
        this.file = file;
        this.level = conf.logLevel;
        this.maxBytes = conf.logMaxBytes;
        this.keep = conf.logBackupCount;
        this.tag = tag;
    }

    public Path file() {
        return file;
    }

    public void debug(String msg) {
        write(CofferConf.LogLevel.DEBUG, msg);
    }

    public void info(String msg) {
        write(CofferConf.LogLevel.INFO, msg);
    }

    public void warn(String msg) {
        write(CofferConf.LogLevel.WARNING, msg);
    }

    public void error(String msg) {
        write(CofferConf.LogLevel.ERROR, msg);
    }

    private synchronized void write(CofferConf.LogLevel l, String msg) {
        if (l.ordinal() < level.ordinal()) {
            return;
        }
        String line = TIME.format(LocalDateTime.now()) + " " + String.format("%-7s", l.name()) + " " + tag + "["
                + ProcessHandle.current().pid() + "]: " + msg.replace('\n', ' ') + "\n";
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            // A log that cannot be written must not stop a mount or the watchdog.
        }
    }

    /** Rotates this log if it has grown past the limit. */
    public synchronized void rotateIfNeeded() {
        rotateIfNeeded(file, maxBytes, keep);
    }

    /**
     * Copies {@code file} to {@code file.1} (shifting older copies up, dropping the one past
     * {@code keep}) and truncates it, if it is larger than {@code maxBytes}.
     */
    public static boolean rotateIfNeeded(Path file, long maxBytes, int keep) {
        try {
            if (!Files.isRegularFile(file) || Files.size(file) <= maxBytes) {
                return false;
            }
            if (keep <= 0) {
                truncate(file);
                return true;
            }
            Files.deleteIfExists(numbered(file, keep));
            for (int i = keep - 1; i >= 1; i--) {
                Path from = numbered(file, i);
                if (Files.exists(from)) {
                    Files.move(from, numbered(file, i + 1), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            Path tmp = numbered(file, 1).resolveSibling("." + numbered(file, 1).getFileName() + ".tmp");
            try (InputStream in = Files.newInputStream(file); OutputStream out = Files.newOutputStream(tmp)) {
                in.transferTo(out);
            }
            truncate(file);
            Files.move(tmp, numbered(file, 1), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void truncate(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(0);
        }
    }

    static Path numbered(Path file, int n) {
        return file.resolveSibling(file.getFileName() + "." + n);
    }
}
