package io.coffer.kms;

import java.util.Objects;
import java.util.UUID;

/**
 * One alias and the key it points at.
 *
 * @param aliasName the full name, {@code alias/...}
 * @param keyId the target key
 */
public record AliasEntry(String aliasName, UUID keyId) {
  public AliasEntry {
    Objects.requireNonNull(aliasName, "aliasName");
    Objects.requireNonNull(keyId, "keyId");
  }
}
