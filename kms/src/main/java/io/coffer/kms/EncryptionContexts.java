package io.coffer.kms;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Turns an encryption context into the exact bytes bound as associated data.
 *
 * <p>Canonical form: a 4-byte big-endian entry count, then for each entry in ascending order of
 * its key ({@link String#compareTo}, i.e. UTF-16 code units) the key and the value, each as a
 * 4-byte big-endian length followed by its UTF-8 bytes. Length prefixes make the encoding
 * injective: {@code {"a":"bc"}} and {@code {"ab":"c"}} cannot collide, unlike a joined string.
 */
final class EncryptionContexts {
  static final int MAX_ENTRIES = 64;
  static final int MAX_TOTAL_CHARS = 8192;

  private EncryptionContexts() {}

  /** A sorted, immutable copy, validated. {@code null} is the empty context. */
  static SortedMap<String, String> normalize(Map<String, String> context) throws InvalidRequestException {
    if (context == null) {
      return Collections.emptySortedMap();
    }
    if (context.size() > MAX_ENTRIES) {
      throw new InvalidRequestException(
          "encryption context has " + context.size() + " entries; at most " + MAX_ENTRIES + " are allowed");
    }
    TreeMap<String, String> sorted = new TreeMap<>();
    int total = 0;
    for (Map.Entry<String, String> e : context.entrySet()) {
      if (e.getKey() == null || e.getValue() == null) {
        throw new InvalidRequestException("encryption context keys and values must not be null");
      }
      if (e.getKey().isEmpty()) {
        throw new InvalidRequestException("encryption context keys must not be empty");
      }
      total += e.getKey().length() + e.getValue().length();
      sorted.put(e.getKey(), e.getValue());
    }
    if (total > MAX_TOTAL_CHARS) {
      throw new InvalidRequestException(
          "encryption context is " + total + " characters; at most " + MAX_TOTAL_CHARS + " are allowed");
    }
    return Collections.unmodifiableSortedMap(sorted);
  }

  static byte[] canonicalBytes(SortedMap<String, String> normalized) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    writeInt(out, normalized.size());
    for (Map.Entry<String, String> e : normalized.entrySet()) {
      writeString(out, e.getKey());
      writeString(out, e.getValue());
    }
    return out.toByteArray();
  }

  private static void writeString(ByteArrayOutputStream out, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    writeInt(out, b.length);
    out.writeBytes(b);
  }

  private static void writeInt(ByteArrayOutputStream out, int v) {
    out.writeBytes(ByteBuffer.allocate(4).putInt(v).array());
  }
}
