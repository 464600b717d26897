package io.coffer.kms;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Key administration for an RPC layer that knows nothing of the KMS API: a command name and a
 * map of plain arguments in, a map of plain values (strings, numbers, booleans, lists, maps;
 * ready for JSON) out. The names are those of {@code coffer kms ...}.
 *
 * <table>
 *   <caption>Commands</caption>
 *   <tr><th>command</th><th>arguments</th><th>result</th></tr>
 *   <tr><td>create-key</td><td>description?, provider? (default local), rotation-period-days?</td><td>key</td></tr>
 *   <tr><td>list-keys</td><td></td><td>{@code keys}: list of key</td></tr>
 *   <tr><td>describe-key</td><td>key</td><td>key</td></tr>
 *   <tr><td>enable-key, disable-key, rotate-key</td><td>key</td><td>key</td></tr>
 *   <tr><td>set-key-rotation</td><td>key, rotation-period-days (0 = off)</td><td>key</td></tr>
 *   <tr><td>schedule-key-deletion</td><td>key, pending-window-days? (7..30, default 30)</td><td>key</td></tr>
 *   <tr><td>cancel-key-deletion</td><td>key</td><td>key</td></tr>
 *   <tr><td>create-alias</td><td>alias-name, key</td><td>aliasName, keyId</td></tr>
 *   <tr><td>delete-alias</td><td>alias-name</td><td>deleted: alias name</td></tr>
 *   <tr><td>list-aliases</td><td></td><td>{@code aliases}: list of {aliasName, keyId}</td></tr>
 * </table>
 *
 * <p>A "key" result has keyId, keyUri, provider, description, keyManager, keyState,
 * creationDate, deletionDate (or absent), currentVersion, versions, rotationPeriodDays,
 * lastRotationDate, nextRotationDate (or absent) and aliases; dates are ISO-8601 UTC strings.
 * {@code key} arguments accept a key id, {@code alias/NAME} or a key URI.
 *
 * <p>Errors are {@link KmsException} subclasses: unknown command, missing, unknown or mistyped
 * arguments are {@link InvalidRequestException}. Thread-safe, like the {@link Kms} it wraps.
 */
public final class KmsAdmin {
  private static final Set<String> COMMANDS = Set.of("create-key", "list-keys", "describe-key", "enable-key",
      "disable-key", "rotate-key", "set-key-rotation", "schedule-key-deletion", "cancel-key-deletion",
      "create-alias", "delete-alias", "list-aliases");

  private final Kms kms;

  public KmsAdmin(Kms kms) {
    this.kms = Objects.requireNonNull(kms);
  }

  /** The command names {@link #handle} accepts. */
  public static Set<String> commands() {
    return COMMANDS;
  }

  /**
   * Runs one command.
   *
   * @param command one of {@link #commands()}
   * @param args named arguments; {@code null} means none
   * @param caller the principal recorded in the audit log
   * @return the result, a mutable map of plain values
   */
  public Map<String, Object> handle(String command, Map<String, Object> args, String caller) throws KmsException {
    Args a = new Args(command, args == null ? Map.of() : args);
    switch (command == null ? "" : command) {
      case "create-key": {
        a.allow("description", "provider", "rotation-period-days");
        Integer period = a.optionalInt("rotation-period-days");
        return key(kms.createKey(new CreateKeyRequest(a.optionalString("description"), a.optionalString("provider"),
            period), caller));
      }
      case "list-keys": {
        a.allow();
        List<Object> keys = new ArrayList<>();
        for (KeyMetadata k : kms.listKeys()) {
          keys.add(key(k));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("keys", keys);
        return out;
      }
      case "describe-key":
        a.allow("key");
        return key(kms.describeKey(a.string("key")));
      case "enable-key":
        a.allow("key");
        return key(kms.enableKey(a.string("key"), caller));
      case "disable-key":
        a.allow("key");
        return key(kms.disableKey(a.string("key"), caller));
      case "rotate-key":
        a.allow("key");
        return key(kms.rotateKey(a.string("key"), caller));
      case "set-key-rotation":
        a.allow("key", "rotation-period-days");
        return key(kms.setRotationPeriod(a.string("key"), a.integer("rotation-period-days"), caller));
      case "schedule-key-deletion": {
        a.allow("key", "pending-window-days");
        Integer days = a.optionalInt("pending-window-days");
        return key(kms.scheduleKeyDeletion(a.string("key"), days == null ? Kms.DEFAULT_PENDING_WINDOW_DAYS : days, caller));
      }
      case "cancel-key-deletion":
        a.allow("key");
        return key(kms.cancelKeyDeletion(a.string("key"), caller));
      case "create-alias": {
        a.allow("alias-name", "key");
        AliasEntry e = kms.createAlias(a.string("alias-name"), a.string("key"), caller);
        return alias(e);
      }
      case "delete-alias": {
        a.allow("alias-name");
        String name = a.string("alias-name");
        kms.deleteAlias(name, caller);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("deleted", name);
        return out;
      }
      case "list-aliases": {
        a.allow();
        List<Object> list = new ArrayList<>();
        for (AliasEntry e : kms.listAliases()) {
          list.add(alias(e));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("aliases", list);
        return out;
      }
      default:
        throw new InvalidRequestException("unknown KMS command '" + command + "'; known: "
            + COMMANDS.stream().sorted().toList());
    }
  }

  /** The plain-map form of key metadata used in results. */
  public static Map<String, Object> key(KeyMetadata k) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("keyId", k.keyId().toString());
    m.put("keyUri", k.keyUri());
    m.put("provider", k.provider());
    m.put("description", k.description());
    m.put("keyManager", k.keyManager().name());
    m.put("keyState", k.state().name());
    m.put("creationDate", k.creationDate().toString());
    if (k.deletionDate() != null) {
      m.put("deletionDate", k.deletionDate().toString());
    }
    m.put("currentVersion", k.currentVersion());
    m.put("versions", new ArrayList<>(k.versions()));
    m.put("rotationPeriodDays", k.rotationPeriodDays());
    m.put("lastRotationDate", k.lastRotationDate().toString());
    if (k.nextRotationDate() != null) {
      m.put("nextRotationDate", k.nextRotationDate().toString());
    }
    m.put("aliases", new ArrayList<>(k.aliases()));
    return m;
  }

  private static Map<String, Object> alias(AliasEntry e) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("aliasName", e.aliasName());
    m.put("keyId", e.keyId().toString());
    return m;
  }

  /** Typed, checked access to the argument map of one command. */
  private static final class Args {
    private final String command;
    private final Map<String, Object> args;

    Args(String command, Map<String, Object> args) {
      this.command = command;
      this.args = args;
    }

    void allow(String... names) throws InvalidRequestException {
      Set<String> allowed = Set.of(names);
      for (String k : args.keySet()) {
        if (!allowed.contains(k)) {
          throw new InvalidRequestException(command + " does not take an argument '" + k + "'"
              + (names.length == 0 ? "" : "; it takes " + String.join(", ", names)));
        }
      }
    }

    String string(String name) throws InvalidRequestException {
      String s = optionalString(name);
      if (s == null || s.isBlank()) {
        throw new InvalidRequestException(command + " needs the argument '" + name + "'");
      }
      return s;
    }

    String optionalString(String name) throws InvalidRequestException {
      Object v = args.get(name);
      if (v == null) {
        return null;
      }
      if (!(v instanceof String s)) {
        throw new InvalidRequestException(command + ": argument '" + name + "' must be a string");
      }
      return s;
    }

    int integer(String name) throws InvalidRequestException {
      Integer v = optionalInt(name);
      if (v == null) {
        throw new InvalidRequestException(command + " needs the argument '" + name + "'");
      }
      return v;
    }

    Integer optionalInt(String name) throws InvalidRequestException {
      Object v = args.get(name);
      if (v == null) {
        return null;
      }
      if (v instanceof Integer || v instanceof Long || v instanceof Short) {
        long l = ((Number) v).longValue();
        if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
          throw new InvalidRequestException(command + ": argument '" + name + "' is out of range");
        }
        return (int) l;
      }
      if (v instanceof String s) {
        try {
          return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
          throw new InvalidRequestException(command + ": argument '" + name + "' must be a whole number, not '" + s + "'");
        }
      }
      throw new InvalidRequestException(command + ": argument '" + name + "' must be a whole number");
    }
  }
}
