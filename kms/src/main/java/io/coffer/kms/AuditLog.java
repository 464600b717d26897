package io.coffer.kms;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.coffer.kms.local.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

/**
 * Appends one JSON object per line for every use and every management action on a key, allowed
 * or refused, like CloudTrail's KMS events. See docs/kms.md for the fields.
 *
 * <p>Thread-safe. An entry is written (and, by default, forced to disk) before the KMS returns
 * the result it describes; if the entry cannot be written the operation fails, so there is no
 * unaudited key use.
 */
final class AuditLog implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One audited event; {@code null} fields are left out of the line. */
  record Event(
      Instant time,
      String principal,
      String operation,
      UUID keyId,
      Integer keyVersion,
      Map<String, String> encryptionContext,
      boolean allowed,
      String errorCode,
      String reason,
      Map<String, Object> details) {}

  private final Path file;
  private final boolean fsync;
  private FileChannel channel; // guarded by this

  AuditLog(Path file, boolean fsync) throws KmsConfigurationException {
    this.file = file;
    this.fsync = fsync;
    try {
      Path parent = file.toAbsolutePath().getParent();
      AtomicFiles.createDirectories(parent);
      boolean existed = file.toFile().exists();
      this.channel = existed
          ? FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND)
          : FileChannel.open(file, java.util.Set.of(StandardOpenOption.WRITE, StandardOpenOption.APPEND,
              StandardOpenOption.CREATE), PosixFilePermissions.asFileAttribute(AtomicFiles.OWNER_RW));
      if (!existed) {
        AtomicFiles.fsyncDirectory(parent);
      }
    } catch (IOException e) {
      throw new KmsConfigurationException("cannot open the audit log " + file + ": " + e.getMessage(), e);
    }
  }

  Path file() {
    return file;
  }

  void write(Event e) throws KmsInternalException {
    ObjectNode n = JSON.createObjectNode();
    n.put("eventTime", e.time().toString());
    n.put("eventId", UUID.randomUUID().toString());
    n.put("principal", e.principal());
    n.put("operation", e.operation());
    if (e.keyId() != null) {
      n.put("keyId", e.keyId().toString());
    }
    if (e.keyVersion() != null) {
      n.put("keyVersion", e.keyVersion());
    }
    if (e.encryptionContext() != null) {
      ObjectNode ctx = n.putObject("encryptionContext");
      e.encryptionContext().forEach(ctx::put);
    }
    n.put("outcome", e.allowed() ? "allowed" : "refused");
    if (e.errorCode() != null) {
      n.put("errorCode", e.errorCode());
    }
    if (e.reason() != null) {
      n.put("reason", e.reason());
    }
    if (e.details() != null && !e.details().isEmpty()) {
      n.set("details", JSON.valueToTree(e.details()));
    }
    byte[] line;
    try {
      line = (JSON.writeValueAsString(n) + "\n").getBytes(StandardCharsets.UTF_8);
    } catch (IOException ex) {
      throw new KmsInternalException("cannot encode an audit entry", ex);
    }
    synchronized (this) {
      if (channel == null) {
        throw new KmsInternalException("the audit log " + file + " is closed");
      }
      try {
        ByteBuffer buf = ByteBuffer.wrap(line);
        while (buf.hasRemaining()) {
          channel.write(buf);
        }
        if (fsync) {
          channel.force(false);
        }
      } catch (IOException ex) {
        throw new KmsInternalException("cannot write the audit log " + file + ": " + ex.getMessage(), ex);
      }
    }
  }

  @Override
  public synchronized void close() {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // closing a file we only appended to and forced: nothing left to lose
      }
      channel = null;
    }
  }
}
