package io.coffer.kms;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.coffer.kms.local.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/**
 * The durable record of every key (all providers), its versions and the aliases, kept in one
 * JSON file that is replaced atomically on each change ({@link AtomicFiles}).
 *
 * <p>Readers take {@link #snapshot()} without locking. Writers must hold the KMS's mutation
 * lock; {@link #commit} persists first and publishes after, so a failed write changes nothing
 * in memory either.
 */
final class KeyCatalog {
  static final String FILE_NAME = "catalog.json";
  private static final int FORMAT = 1;
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** An immutable view of the whole catalog. */
  record State(Map<UUID, KeyRecord> keys, Map<String, UUID> aliases) {
    State {
      keys = Collections.unmodifiableMap(new LinkedHashMap<>(keys));
      aliases = Collections.unmodifiableMap(new TreeMap<>(aliases));
    }

    State withKey(KeyRecord k) {
      Map<UUID, KeyRecord> copy = new LinkedHashMap<>(keys);
      copy.put(k.keyId(), k);
      return new State(copy, aliases);
    }

    State withoutKey(UUID keyId) {
      Map<UUID, KeyRecord> copy = new LinkedHashMap<>(keys);
      copy.remove(keyId);
      Map<String, UUID> a = new TreeMap<>(aliases);
      a.values().removeIf(keyId::equals);
      return new State(copy, a);
    }

    State withAlias(String alias, UUID keyId) {
      Map<String, UUID> a = new TreeMap<>(aliases);
      a.put(alias, keyId);
      return new State(keys, a);
    }

    State withoutAlias(String alias) {
      Map<String, UUID> a = new TreeMap<>(aliases);
      a.remove(alias);
      return new State(keys, a);
    }

    List<String> aliasesOf(UUID keyId) {
      List<String> out = new ArrayList<>();
      aliases.forEach((name, id) -> {
        if (id.equals(keyId)) {
          out.add(name);
        }
      });
      return out;
    }
  }

  private final Path file;
  private volatile State state;

  private KeyCatalog(Path file, State state) {
    this.file = file;
    this.state = state;
  }

  static KeyCatalog open(Path keystoreDir) throws KmsConfigurationException {
    Path file = keystoreDir.resolve(FILE_NAME);
    AtomicFiles.removeLeftovers(keystoreDir);
    try {
      byte[] bytes = Files.readAllBytes(file);
      return new KeyCatalog(file, decode(bytes, file));
    } catch (NoSuchFileException e) {
      return new KeyCatalog(file, new State(Map.of(), Map.of()));
    } catch (IOException e) {
      throw new KmsConfigurationException("cannot read the key catalog " + file + ": " + e.getMessage(), e);
    }
  }

  State snapshot() {
    return state;
  }

  /** Persists {@code next} durably, then publishes it. Caller holds the mutation lock. */
  void commit(State next) throws KmsInternalException {
    try {
      AtomicFiles.write(file, encode(next));
    } catch (IOException e) {
      throw new KmsInternalException("cannot write the key catalog " + file + ": " + e.getMessage(), e);
    }
    state = next;
  }

  static byte[] encode(State s) {
    ObjectNode root = JSON.createObjectNode();
    root.put("format", FORMAT);
    ArrayNode keys = root.putArray("keys");
    for (KeyRecord k : s.keys().values()) {
      ObjectNode n = keys.addObject();
      n.put("keyId", k.keyId().toString());
      n.put("provider", k.provider());
      n.put("description", k.description());
      n.put("keyManager", k.keyManager().name());
      n.put("state", k.state().name());
      n.put("creationDate", k.creationDate().toString());
      if (k.deletionDate() != null) {
        n.put("deletionDate", k.deletionDate().toString());
      }
      n.put("rotationPeriodDays", k.rotationPeriodDays());
      ArrayNode versions = n.putArray("versions");
      for (KeyRecord.VersionRecord v : k.versions()) {
        versions.addObject()
            .put("version", v.version())
            .put("creationDate", v.creationDate().toString())
            .put("handle", v.handle());
      }
    }
    ObjectNode aliases = root.putObject("aliases");
    s.aliases().forEach((name, id) -> aliases.put(name, id.toString()));
    try {
      return JSON.writeValueAsBytes(root);
    } catch (IOException e) {
      throw new IllegalStateException("cannot serialize the catalog", e);
    }
  }

  static State decode(byte[] bytes, Path file) throws KmsConfigurationException {
    try {
      JsonNode root = JSON.readTree(bytes);
      if (root == null || !root.isObject() || root.path("format").asInt(-1) != FORMAT) {
        throw new IllegalArgumentException("unknown catalog format");
      }
      Map<UUID, KeyRecord> keys = new LinkedHashMap<>();
      for (JsonNode n : required(root, "keys")) {
        List<KeyRecord.VersionRecord> versions = new ArrayList<>();
        for (JsonNode v : required(n, "versions")) {
          versions.add(new KeyRecord.VersionRecord(
              required(v, "version").intValue(),
              Instant.parse(text(v, "creationDate")),
              text(v, "handle")));
        }
        JsonNode deletion = n.get("deletionDate");
        KeyRecord k = new KeyRecord(
            UUID.fromString(text(n, "keyId")),
            text(n, "provider"),
            text(n, "description"),
            KeyManager.valueOf(text(n, "keyManager")),
            KeyState.valueOf(text(n, "state")),
            Instant.parse(text(n, "creationDate")),
            deletion == null || deletion.isNull() ? null : Instant.parse(deletion.asText()),
            required(n, "rotationPeriodDays").intValue(),
            versions);
        if (keys.put(k.keyId(), k) != null) {
          throw new IllegalArgumentException("duplicate key " + k.keyId());
        }
      }
      Map<String, UUID> aliases = new TreeMap<>();
      for (Map.Entry<String, JsonNode> e : required(root, "aliases").properties()) {
        UUID target = UUID.fromString(e.getValue().asText());
        if (!keys.containsKey(target)) {
          throw new IllegalArgumentException("alias " + e.getKey() + " points at a missing key");
        }
        aliases.put(e.getKey(), target);
      }
      return new State(keys, aliases);
    } catch (IOException | RuntimeException e) {
      throw new KmsConfigurationException("the key catalog " + file + " is unreadable or corrupt: " + e.getMessage(), e);
    }
  }

  private static JsonNode required(JsonNode n, String field) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      throw new IllegalArgumentException("missing field '" + field + "'");
    }
    return v;
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = required(n, field);
    if (!v.isTextual()) {
      throw new IllegalArgumentException("field '" + field + "' is not text");
    }
    return v.asText();
  }
}
