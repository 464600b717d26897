package io.coffer.mount;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;

/**
 * The state directory: one JSON file per mount, written atomically (a temporary file renamed
 * over the old one), and one lock ({@code .lock}, flock(2)) that every process takes to change
 * the set of mounts: choosing a port, adding, removing or rewriting a state file. The lock is
 * what keeps two simultaneous mounts from taking the same port.
 */
public final class StateStore {
    static final String SUFFIX = ".json";
    static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .setSerializationInclusion(JsonInclude.Include.ALWAYS)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .enable(SerializationFeature.INDENT_OUTPUT);

    /** flock(2) locks belong to open files, and the JDK refuses a second lock on one file in one JVM. */
    private static final ReentrantLock IN_PROCESS = new ReentrantLock();

    private final Path dir;

    public StateStore(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    /** Creates the directory (mode 0755 by the umask of root) if needed. */
    public void ensureDir() throws HelperException {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new HelperException(ExitCodes.SYSTEM, "cannot create state directory " + dir + ": " + e.getMessage());
        }
        if (!Files.isWritable(dir)) {
            throw new HelperException(ExitCodes.USAGE, "state directory " + dir + " is not writable (run as root)");
        }
    }

    /** The exclusive lock on the set of mounts; close it to release. */
    public AutoCloseable lock() throws HelperException {
        ensureDir();
        IN_PROCESS.lock();
        try {
            FileChannel ch = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock = ch.lock();
            return () -> {
                try {
                    lock.release();
                    ch.close();
                } finally {
                    IN_PROCESS.unlock();
                }
            };
        } catch (IOException | RuntimeException e) {
            IN_PROCESS.unlock();
            throw new HelperException(ExitCodes.SYSTEM, "cannot lock " + dir.resolve(".lock") + ": " + e.getMessage());
        }
    }

    /** Every state file, by path; files that cannot be parsed are skipped. */
    public Map<Path, MountState> list() {
        Map<Path, MountState> out = new LinkedHashMap<>();
        List<Path> files = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().endsWith(SUFFIX) && !p.getFileName().toString().startsWith("."))
                    .sorted().forEach(files::add);
        } catch (IOException e) {
            return out;
        }
        for (Path p : files) {
            MountState st = read(p);
            if (st != null) {
                out.put(p, st);
            }
        }
        return out;
    }

    /** The state in {@code file}, or null if it is gone or unreadable. */
    public MountState read(Path file) {
        try {
            return JSON.readValue(Files.readAllBytes(file), MountState.class);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return null;
        }
    }

    public void write(Path file, MountState state) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        Files.write(tmp, JSON.writeValueAsBytes(state));
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Writes text atomically (configuration files of the tunnels). */
    static void writeAtomically(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * The base name of a mount's files, as efs-utils names them: the file system, the mount point
     * with '/' turned into '.', and the tunnel port when there is one ({@code fs-1a2b3c4d.mnt.data.20049}).
     */
    public static String baseName(String fsId, String mountpoint, Integer port) {
        String mp = mountpoint.replaceAll("^/+", "").replace('/', '.').replaceAll("[^A-Za-z0-9._-]", "_");
        if (mp.isEmpty()) {
            mp = "root";
        }
        if (mp.length() > 150) {
            mp = mp.substring(0, 120) + "-" + Integer.toHexString(mountpoint.hashCode());
        }
        return fsId + "." + mp + (port == null ? "" : "." + port);
    }

    public Path stateFile(String baseName) {
        return dir.resolve(baseName + SUFFIX);
    }
}
