package io.coffer.kms;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/** Reads a JSON-lines audit log back for assertions. */
final class AuditLines {
  private static final ObjectMapper JSON = new ObjectMapper();

  private AuditLines() {}

  static List<JsonNode> read(Path file) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (String line : Files.readAllLines(file)) {
      if (!line.isBlank()) {
        out.add(JSON.readTree(line));
      }
    }
    return out;
  }

  static List<JsonNode> matching(Path file, Predicate<JsonNode> p) throws IOException {
    return read(file).stream().filter(p).toList();
  }
}
