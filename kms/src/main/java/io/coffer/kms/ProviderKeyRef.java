package io.coffer.kms;

import java.util.Objects;
import java.util.UUID;

/**
 * Names one version of a key to its provider.
 *
 * @param keyId the key's id
 * @param version the key version, from 1
 * @param handle the opaque string the provider returned from
 *     {@link KmsProvider#createKeyMaterial}; the catalog stores it and hands it back unchanged
 */
public record ProviderKeyRef(UUID keyId, int version, String handle) {
  public ProviderKeyRef {
    Objects.requireNonNull(keyId, "keyId");
    Objects.requireNonNull(handle, "handle");
    if (version < 1) {
      throw new IllegalArgumentException("key versions start at 1: " + version);
    }
  }
}
