package io.coffer.kms;

import java.util.Locale;
import java.util.UUID;
import java.util.regex.Pattern;

/** The three ways to name a key, and the rules for alias names. */
final class KeyRefs {
  static final String ALIAS_PREFIX = "alias/";
  static final String RESERVED_ALIAS_PREFIX = "alias/coffer/";
  static final String URI_PREFIX = "kms:";
  static final int MAX_ALIAS_LENGTH = 256;
  private static final Pattern ALIAS = Pattern.compile("alias/[A-Za-z0-9/_-]+");
  private static final Pattern SCHEME = Pattern.compile("[a-z][a-z0-9]{0,31}");
  private static final Pattern CANONICAL_UUID =
      Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

  /** How a reference named the key. */
  sealed interface Ref permits ById, ByAlias, ByUri {}

  record ById(UUID keyId) implements Ref {}

  record ByAlias(String alias) implements Ref {}

  record ByUri(String scheme, UUID keyId) implements Ref {}

  private KeyRefs() {}

  static String uri(String scheme, UUID keyId) {
    return URI_PREFIX + scheme + "/" + keyId;
  }

  static boolean isValidScheme(String scheme) {
    return scheme != null && SCHEME.matcher(scheme).matches();
  }

  static Ref parse(String ref) throws InvalidRequestException {
    if (ref == null || ref.isBlank()) {
      throw new InvalidRequestException("a key reference (key id, alias/NAME or kms:PROVIDER/KEY-ID) is required");
    }
    if (ref.startsWith(ALIAS_PREFIX)) {
      checkAliasSyntax(ref);
      return new ByAlias(ref);
    }
    if (ref.startsWith(URI_PREFIX)) {
      String rest = ref.substring(URI_PREFIX.length());
      int slash = rest.indexOf('/');
      if (slash <= 0 || !isValidScheme(rest.substring(0, slash))) {
        throw new InvalidRequestException("malformed key URI '" + ref + "': expected kms:PROVIDER/KEY-ID");
      }
      return new ByUri(rest.substring(0, slash), parseId(rest.substring(slash + 1), ref));
    }
    return new ById(parseId(ref, ref));
  }

  private static UUID parseId(String id, String ref) throws InvalidRequestException {
    if (!CANONICAL_UUID.matcher(id).matches()) {
      throw new InvalidRequestException(
          "'" + ref + "' is not a key id (UUID), an alias (alias/NAME) or a key URI (kms:PROVIDER/KEY-ID)");
    }
    return UUID.fromString(id.toLowerCase(Locale.ROOT));
  }

  /** Syntax only: {@code alias/} followed by one or more of {@code [A-Za-z0-9/_-]}. */
  static void checkAliasSyntax(String alias) throws InvalidRequestException {
    if (alias == null || alias.length() > MAX_ALIAS_LENGTH || !ALIAS.matcher(alias).matches()) {
      throw new InvalidRequestException("invalid alias name '" + alias
          + "': it must be alias/ followed by letters, digits, '/', '_' or '-' (at most "
          + MAX_ALIAS_LENGTH + " characters)");
    }
  }

  static boolean isReserved(String alias) {
    return alias.startsWith(RESERVED_ALIAS_PREFIX);
  }
}
