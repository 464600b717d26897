package io.coffer.kms;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/** One key as the catalog stores it. Immutable; every change makes a new record. */
record KeyRecord(
    UUID keyId,
    String provider,
    String description,
    KeyManager keyManager,
    KeyState state,
    Instant creationDate,
    Instant deletionDate,
    int rotationPeriodDays,
    List<VersionRecord> versions) {

  /** One version of a key's material. */
  record VersionRecord(int version, Instant creationDate, String handle) {
    VersionRecord {
      Objects.requireNonNull(creationDate);
      Objects.requireNonNull(handle);
    }
  }

  KeyRecord {
    Objects.requireNonNull(keyId);
    Objects.requireNonNull(provider);
    Objects.requireNonNull(keyManager);
    Objects.requireNonNull(state);
    Objects.requireNonNull(creationDate);
    description = description == null ? "" : description;
    versions = List.copyOf(versions);
    if (versions.isEmpty()) {
      throw new IllegalArgumentException("a key has at least one version");
    }
    for (int i = 0; i < versions.size(); i++) {
      if (versions.get(i).version() != i + 1) {
        throw new IllegalArgumentException("key versions must be 1..n in order");
      }
    }
    if ((state == KeyState.PENDING_DELETION) != (deletionDate != null)) {
      throw new IllegalArgumentException("a deletion date goes with PENDING_DELETION and only with it");
    }
  }

  VersionRecord current() {
    return versions.get(versions.size() - 1);
  }

  VersionRecord version(int version) {
    return version >= 1 && version <= versions.size() ? versions.get(version - 1) : null;
  }

  Instant nextRotationDate() {
    if (rotationPeriodDays <= 0) {
      return null;
    }
    return current().creationDate().plus(java.time.Duration.ofDays(rotationPeriodDays));
  }

  KeyRecord withState(KeyState newState, Instant newDeletionDate) {
    return new KeyRecord(keyId, provider, description, keyManager, newState, creationDate,
        newDeletionDate, rotationPeriodDays, versions);
  }

  KeyRecord withRotationPeriod(int days) {
    return new KeyRecord(keyId, provider, description, keyManager, state, creationDate,
        deletionDate, days, versions);
  }

  KeyRecord withNewVersion(VersionRecord v) {
    List<VersionRecord> more = new ArrayList<>(versions);
    more.add(v);
    return new KeyRecord(keyId, provider, description, keyManager, state, creationDate,
        deletionDate, rotationPeriodDays, more);
  }

  ProviderKeyRef ref(VersionRecord v) {
    return new ProviderKeyRef(keyId, v.version(), v.handle());
  }
}
