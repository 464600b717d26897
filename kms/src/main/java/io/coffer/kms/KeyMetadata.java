package io.coffer.kms;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * A snapshot of one key's metadata. Holds no key material.
 *
 * @param keyId the key's id (a UUID, like an AWS KMS key id)
 * @param keyUri {@code kms:<provider>/<keyId>}
 * @param provider the scheme of the provider holding the key material ({@code local},
 *     {@code pkcs11}, {@code kmip}, ...)
 * @param description free text given at creation
 * @param keyManager service-managed or customer-managed
 * @param state the lifecycle state
 * @param creationDate when the key was created
 * @param deletionDate when a key pending deletion will be deleted; {@code null} otherwise
 * @param currentVersion the version new data keys are wrapped under (versions start at 1)
 * @param versions every version still held, oldest first; all of them still decrypt
 * @param rotationPeriodDays automatic rotation period in days; 0 when automatic rotation is off
 * @param lastRotationDate when the current version was created
 * @param nextRotationDate when automatic rotation is next due; {@code null} when it is off
 * @param aliases the aliases pointing at this key, sorted
 */
public record KeyMetadata(
    UUID keyId,
    String keyUri,
    String provider,
    String description,
    KeyManager keyManager,
    KeyState state,
    Instant creationDate,
    Instant deletionDate,
    int currentVersion,
    List<Integer> versions,
    int rotationPeriodDays,
    Instant lastRotationDate,
    Instant nextRotationDate,
    List<String> aliases) {

  public KeyMetadata {
    Objects.requireNonNull(keyId, "keyId");
    Objects.requireNonNull(keyUri, "keyUri");
    Objects.requireNonNull(provider, "provider");
    Objects.requireNonNull(keyManager, "keyManager");
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(creationDate, "creationDate");
    description = description == null ? "" : description;
    versions = List.copyOf(versions);
    aliases = List.copyOf(aliases);
  }
}
