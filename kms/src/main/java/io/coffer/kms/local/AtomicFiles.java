package io.coffer.kms.local;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Crash-safe file writes for the keystore: a key that was reported as created must survive a
 * power cut, and a crash mid-write must leave the previous version intact, never a torn file.
 *
 * <p>Each write goes to a temporary file in the same directory (same file system, so the rename
 * is atomic), is forced to disk, renamed over the target, and then the directory itself is
 * forced so the rename is durable. Temporary names start with {@code .tmp-}; leftovers from a
 * crash are ignored by readers and removed by {@link #removeLeftovers}.
 *
 * <p>Public only so the core catalog in {@code io.coffer.kms} can share it; not an API.
 */
public final class AtomicFiles {
  /** Owner read/write only. */
  public static final Set<PosixFilePermission> OWNER_RW = PosixFilePermissions.fromString("rw-------");
  /** Owner read/write/search only. */
  public static final Set<PosixFilePermission> OWNER_RWX = PosixFilePermissions.fromString("rwx------");

  static final String TEMP_PREFIX = ".tmp-";
  private static final Logger LOG = LoggerFactory.getLogger(AtomicFiles.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  private AtomicFiles() {}

  /** Replaces (or creates) {@code target} with {@code data}, mode 0600, atomically and durably. */
  public static void write(Path target, byte[] data) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    byte[] suffix = new byte[8];
    RANDOM.nextBytes(suffix);
    Path temp = dir.resolve(TEMP_PREFIX + target.getFileName() + "-" + HexFormat.of().formatHex(suffix));
    boolean moved = false;
    try {
      Files.createFile(temp, PosixFilePermissions.asFileAttribute(OWNER_RW));
      try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
        ByteBuffer buf = ByteBuffer.wrap(data);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        ch.force(true);
      }
      try {
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException("the file system of " + dir + " cannot rename atomically", e);
      }
      moved = true;
      fsyncDirectory(dir);
    } finally {
      if (!moved) {
        Files.deleteIfExists(temp);
      }
    }
  }

  /** Creates {@code dir} (mode 0700) and missing parents, making each new entry durable. */
  public static void createDirectories(Path dir) throws IOException {
    Path abs = dir.toAbsolutePath();
    if (Files.isDirectory(abs)) {
      return;
    }
    Path parent = abs.getParent();
    if (parent != null) {
      createDirectories(parent);
    }
    try {
      Files.createDirectory(abs, PosixFilePermissions.asFileAttribute(OWNER_RWX));
    } catch (FileAlreadyExistsException e) {
      if (!Files.isDirectory(abs)) {
        throw e;
      }
      return;
    }
    if (parent != null) {
      fsyncDirectory(parent);
    }
  }

  /** Deletes a file if present and makes the removal durable. */
  public static boolean delete(Path file) throws IOException {
    boolean deleted = Files.deleteIfExists(file);
    if (deleted) {
      fsyncDirectory(file.toAbsolutePath().getParent());
    }
    return deleted;
  }

  /** Forces a directory's entries (creations, renames, removals) to disk. */
  public static void fsyncDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  /** Removes temporary files a crash left behind in {@code dir}. */
  public static void removeLeftovers(Path dir) {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, TEMP_PREFIX + "*")) {
      for (Path p : entries) {
        LOG.info("removing {} left by an interrupted write", p);
        Files.deleteIfExists(p);
      }
    } catch (NoSuchFileException e) {
      // nothing to clean
    } catch (IOException e) {
      LOG.warn("could not clean temporary files in {}: {}", dir, e.toString());
    }
  }
}
