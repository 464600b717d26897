package io.coffer.kms;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The KMS core: resolves references, enforces key states and the service-managed rules, keeps
 * the catalog, writes the audit log, and delegates key material to providers.
 *
 * <p>Cryptographic calls read an immutable catalog snapshot and never take the lock; every
 * change (including provider calls that create or destroy material) runs under one lock, so
 * the catalog and the providers cannot disagree because of a race between two admins.
 */
final class DefaultKms implements Kms {
  private static final Logger LOG = LoggerFactory.getLogger(DefaultKms.class);
  static final int DATA_KEY_BYTES = 32;
  static final String SYSTEM_PRINCIPAL = "coffer-kms";
  static final int MAX_ROTATION_PERIOD_DAYS = 3650;
  static final int MAX_DESCRIPTION_LENGTH = 8192;
  private static final String DEFAULT_KEY_DESCRIPTION = "Default key for Coffer file systems (service-managed)";

  private final KeyCatalog catalog;
  private final Map<String, KmsProvider> providers;
  private final String defaultKeyProvider;
  private final Clock clock;
  private final AuditLog audit;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final SecureRandom random = new SecureRandom();
  private final ReentrantLock mutation = new ReentrantLock();
  private volatile boolean closed;

  DefaultKms(KeyCatalog catalog, Map<String, KmsProvider> providers, String defaultKeyProvider,
      Clock clock, AuditLog audit, FileChannel lockChannel, FileLock lock) {
    this.catalog = catalog;
    this.providers = Map.copyOf(providers);
    this.defaultKeyProvider = defaultKeyProvider;
    this.clock = clock;
    this.audit = audit;
    this.lockChannel = lockChannel;
    this.lock = lock;
  }

  // ---------------------------------------------------------------- cryptographic operations

  @Override
  public DataKey generateDataKey(String keyRef, Map<String, String> context, String caller) throws KmsException {
    Audit a = new Audit("GenerateDataKey", caller);
    try {
      SortedMap<String, String> ctx = a.context(context);
      a.checkCaller();
      KeyRecord k = DEFAULT_KEY_ALIAS.equals(keyRef) ? ensureDefaultKey(a.principal) : liveKey(keyRef);
      a.key(k.keyId(), null);
      requireEnabled(k, "GenerateDataKey");
      byte[] plaintext = new byte[DATA_KEY_BYTES];
      random.nextBytes(plaintext);
      try {
        KeyRecord.VersionRecord v = k.current();
        a.key(k.keyId(), v.version());
        byte[] wrapped = wrap(k, v, plaintext, ctx);
        DataKey dk = new DataKey(k.keyId(), v.version(), uri(k), plaintext, wrapped);
        a.allowed(dk);
        return dk;
      } finally {
        Arrays.fill(plaintext, (byte) 0);
      }
    } catch (KmsException | RuntimeException e) {
      throw a.refused(e);
    }
  }

  @Override
  public DataKey decrypt(byte[] wrapped, Map<String, String> context, String caller) throws KmsException {
    Audit a = new Audit("Decrypt", caller);
    try {
      SortedMap<String, String> ctx = a.context(context);
      a.checkCaller();
      Unwrapped u = unwrap(wrapped, ctx, a, "Decrypt");
      byte[] plaintext = u.plaintext();
      try {
        DataKey dk = new DataKey(u.key().keyId(), u.version(), uri(u.key()), plaintext, wrapped);
        a.allowed(dk);
        return dk;
      } finally {
        Arrays.fill(plaintext, (byte) 0);
      }
    } catch (KmsException | RuntimeException e) {
      throw a.refused(e);
    }
  }

  @Override
  public byte[] reEncrypt(byte[] wrapped, Map<String, String> context, String newKeyRef,
      Map<String, String> newContext, String caller) throws KmsException {
    // Two entries, as the source and the destination key are each used once: an auditor
    // following either key sees the event.
    Audit from = new Audit("ReEncryptFrom", caller);
    byte[] plaintext;
    try {
      SortedMap<String, String> ctx = from.context(context);
      from.checkCaller();
      plaintext = unwrap(wrapped, ctx, from, "ReEncrypt").plaintext();
      from.details.put("destinationKey", String.valueOf(newKeyRef));
    } catch (KmsException | RuntimeException e) {
      throw from.refused(e);
    }
    Audit to = new Audit("ReEncryptTo", caller);
    to.details.put("sourceKeyId", from.keyId.toString());
    to.details.put("sourceKeyVersion", from.keyVersion);
    try {
      from.allowed(null);
      SortedMap<String, String> ctx = to.context(newContext);
      KeyRecord k = DEFAULT_KEY_ALIAS.equals(newKeyRef) ? ensureDefaultKey(to.principal) : liveKey(newKeyRef);
      to.key(k.keyId(), null);
      requireEnabled(k, "ReEncrypt");
      KeyRecord.VersionRecord v = k.current();
      to.key(k.keyId(), v.version());
      byte[] result = wrap(k, v, plaintext, ctx);
      to.allowed(null);
      return result;
    } catch (KmsException | RuntimeException e) {
      throw to.refused(e);
    } finally {
      Arrays.fill(plaintext, (byte) 0);
    }
  }

  private byte[] wrap(KeyRecord k, KeyRecord.VersionRecord v, byte[] plaintext, SortedMap<String, String> ctx)
      throws KmsException {
    byte[] header = WrappedKeyFormat.header(k.keyId(), v.version());
    byte[] aad = WrappedKeyFormat.aad(header, EncryptionContexts.canonicalBytes(ctx));
    byte[] ct = provider(k).encrypt(k.ref(v), plaintext, aad);
    if (ct == null || ct.length == 0 || ct.length > KmsProvider.MAX_CIPHERTEXT_LENGTH) {
      throw new KmsInternalException("provider " + k.provider() + " returned an unusable ciphertext");
    }
    return WrappedKeyFormat.assemble(header, ct);
  }

  private record Unwrapped(KeyRecord key, int version, byte[] plaintext) {}

  /** Parses, checks the key's state, and asks the provider; records key and version in {@code a}. */
  private Unwrapped unwrap(byte[] wrapped, SortedMap<String, String> ctx, Audit a, String operation) throws KmsException {
    WrappedKeyFormat.Parsed p = WrappedKeyFormat.parse(wrapped);
    a.key(p.keyId(), p.keyVersion());
    KeyRecord k = liveKey(p.keyId());
    requireEnabled(k, operation);
    KeyRecord.VersionRecord v = k.version(p.keyVersion());
    if (v == null) {
      throw new InvalidCiphertextException("wrapped key names version " + p.keyVersion() + " of key "
          + k.keyId() + ", which has versions 1.." + k.versions().size());
    }
    byte[] aad = WrappedKeyFormat.aad(p.header(), EncryptionContexts.canonicalBytes(ctx));
    byte[] plaintext = provider(k).decrypt(k.ref(v), p.ciphertext(), aad);
    if (plaintext == null || plaintext.length != DATA_KEY_BYTES) {
      if (plaintext != null) {
        Arrays.fill(plaintext, (byte) 0);
      }
      throw new InvalidCiphertextException("wrapped key does not hold a " + DATA_KEY_BYTES + "-byte data key");
    }
    return new Unwrapped(k, v.version(), plaintext);
  }

  // ---------------------------------------------------------------- key management

  @Override
  public KeyMetadata createKey(CreateKeyRequest request, String caller) throws KmsException {
    Audit a = new Audit("CreateKey", caller);
    try {
      a.checkCaller();
      if (request == null) {
        throw new InvalidRequestException("a create-key request is required");
      }
      String scheme = request.provider() == null || request.provider().isBlank() ? "local" : request.provider();
      a.details.put("provider", scheme);
      KmsProvider provider = providers.get(scheme);
      if (provider == null) {
        throw new InvalidRequestException("no KMS provider '" + scheme + "' is registered; registered: "
            + providers.keySet().stream().sorted().toList());
      }
      int period = request.rotationPeriodDays() == null ? DEFAULT_ROTATION_PERIOD_DAYS : request.rotationPeriodDays();
      checkRotationPeriod(period);
      String description = request.description() == null ? "" : request.description();
      if (description.length() > MAX_DESCRIPTION_LENGTH) {
        throw new InvalidRequestException("description is longer than " + MAX_DESCRIPTION_LENGTH + " characters");
      }
      mutation.lock();
      try {
        ensureOpen();
        KeyRecord k = createKeyLocked(provider, description, KeyManager.CUSTOMER, period, null, a);
        a.allowed(null);
        return metadata(k, catalog.snapshot());
      } finally {
        mutation.unlock();
      }
    } catch (KmsException | RuntimeException e) {
      throw a.refused(e);
    }
  }

  /** Creates material for version 1, then commits the record (and alias) in one catalog write. */
  private KeyRecord createKeyLocked(KmsProvider provider, String description, KeyManager manager,
      int period, String alias, Audit a) throws KmsException {
    UUID keyId = UUID.randomUUID();
    a.key(keyId, 1);
    Instant now = clock.instant();
    String handle = provider.createKeyMaterial(keyId, 1);
    KeyRecord k = new KeyRecord(keyId, provider.scheme(), description, manager, KeyState.ENABLED, now, null,
        period, List.of(new KeyRecord.VersionRecord(1, now, handle)));
    KeyCatalog.State next = catalog.snapshot().withKey(k);
    if (alias != null) {
      next = next.withAlias(alias, keyId);
    }
    try {
      catalog.commit(next);
    } catch (KmsException e) {
      destroyQuietly(provider, k.ref(k.current()));
      throw e;
    }
    LOG.info("created {} key {} on provider {}", manager, keyId, provider.scheme());
    return k;
  }

  @Override
  public KeyMetadata describeKey(String keyRef) throws KmsException {
    ensureOpen();
    KeyRecord k = liveKey(keyRef);
    return metadata(k, catalog.snapshot());
  }

  @Override
  public List<KeyMetadata> listKeys() throws KmsException {
    ensureOpen();
    purgeAllDue();
    KeyCatalog.State s = catalog.snapshot();
    List<KeyMetadata> out = new ArrayList<>();
    Instant now = clock.instant();
    for (KeyRecord k : s.keys().values()) {
      if (!isDue(k, now)) {
        out.add(metadata(k, s));
      }
    }
    return out;
  }

  @Override
  public KeyMetadata enableKey(String keyRef, String caller) throws KmsException {
    return changeState("EnableKey", keyRef, caller, k -> {
      refuseServiceManaged(k, "enabled or disabled");
      refusePendingDeletion(k, "EnableKey");
      return k.withState(KeyState.ENABLED, null);
    });
  }

  @Override
  public KeyMetadata disableKey(String keyRef, String caller) throws KmsException {
    return changeState("DisableKey", keyRef, caller, k -> {
      refuseServiceManaged(k, "disabled");
      refusePendingDeletion(k, "DisableKey");
      return k.withState(KeyState.DISABLED, null);
    });
  }

  @Override
  public KeyMetadata setRotationPeriod(String keyRef, int periodDays, String caller) throws KmsException {
    return changeState("SetRotationPeriod", keyRef, caller, k -> {
      refuseServiceManaged(k, "given another rotation period");
      refusePendingDeletion(k, "SetRotationPeriod");
      checkRotationPeriod(periodDays);
      return k.withRotationPeriod(periodDays);
    });
  }

  @Override
  public KeyMetadata scheduleKeyDeletion(String keyRef, int pendingWindowDays, String caller) throws KmsException {
    return changeState("ScheduleKeyDeletion", keyRef, caller, k -> {
      refuseServiceManaged(k, "scheduled for deletion");
      if (pendingWindowDays < MIN_PENDING_WINDOW_DAYS || pendingWindowDays > MAX_PENDING_WINDOW_DAYS) {
        throw new InvalidRequestException("pending window must be " + MIN_PENDING_WINDOW_DAYS + " to "
            + MAX_PENDING_WINDOW_DAYS + " days, not " + pendingWindowDays);
      }
      refusePendingDeletion(k, "ScheduleKeyDeletion");
      return k.withState(KeyState.PENDING_DELETION, clock.instant().plus(Duration.ofDays(pendingWindowDays)));
    });
  }

  @Override
  public KeyMetadata cancelKeyDeletion(String keyRef, String caller) throws KmsException {
    return changeState("CancelKeyDeletion", keyRef, caller, k -> {
      if (k.state() != KeyState.PENDING_DELETION) {
        throw new InvalidKeyStateException(k.keyId(), k.state(), "CancelKeyDeletion");
      }
      return k.withState(KeyState.DISABLED, null);
    });
  }

  @Override
  public KeyMetadata rotateKey(String keyRef, String caller) throws KmsException {
    Audit a = new Audit("RotateKey", caller);
    try {
      a.checkCaller();
      mutation.lock();
      try {
        ensureOpen();
        KeyRecord k = liveKey(keyRef);
        a.key(k.keyId(), null);
        refuseServiceManaged(k, "rotated on demand (it rotates itself every " + DEFAULT_ROTATION_PERIOD_DAYS + " days)");
        requireEnabled(k, "RotateKey");
        KeyRecord rotated = rotateLocked(k, a);
        a.allowed(null);
        return metadata(rotated, catalog.snapshot());
      } finally {
        mutation.unlock();
      }
    } catch (KmsException | RuntimeException e) {
      throw a.refused(e);
    }
  }

  private KeyRecord rotateLocked(KeyRecord k, Audit a) throws KmsException {
    int version = k.versions().size() + 1;
    a.key(k.keyId(), version);
    KmsProvider provider = provider(k);
    String handle = provider.createKeyMaterial(k.keyId(), version);
    KeyRecord rotated = k.withNewVersion(new KeyRecord.VersionRecord(version, clock.instant(), handle));
    try {
      catalog.commit(catalog.snapshot().withKey(rotated));
    } catch (KmsException e) {
      destroyQuietly(provider, rotated.ref(rotated.current()));
      throw e;
    }
    LOG.info("rotated key {} to version {}", k.keyId(), version);
    return rotated;
  }

  @Override
  public AliasEntry createAlias(String aliasName, String keyRef, String caller) throws KmsException {
    Audit a = new Audit("CreateAlias", caller);
    a.details.put("alias", String.valueOf(aliasName));
    try {
      a.checkCaller();
      KeyRefs.checkAliasSyntax(aliasName);
      if (KeyRefs.isReserved(aliasName)) {
        throw new KmsAccessDeniedException("alias names starting with " + KeyRefs.RESERVED_ALIAS_PREFIX
            + " are reserved for service-managed keys");
      }
      mutation.lock();
      try {
        ensureOpen();
        KeyCatalog.State s = catalog.snapshot();
        UUID existing = s.aliases().get(aliasName);
        if (existing != null) {
          throw new AlreadyExistsException("alias " + aliasName + " already exists (it points at key " + existing
              + "); an alias names exactly one key, delete it first to move it");
        }
        KeyRecord k = liveKey(keyRef);
        a.key(k.keyId(), null);
        if (k.keyManager() == KeyManager.SERVICE) {
          throw new KmsAccessDeniedException("key " + k.keyId() + " is service-managed: its aliases are managed by Coffer");
        }
        refusePendingDeletion(k, "CreateAlias");
        catalog.commit(catalog.snapshot().withAlias(aliasName, k.keyId()));
        a.allowed(null);
        return new AliasEntry(aliasName, k.keyId());
      } finally {
        mutation.unlock();
      }
    } catch (KmsException | RuntimeException e) {
      throw a.refused(e);
    }
  }

  @Override
  public void deleteAlias(String aliasName, String caller) throws KmsException {
    Audit a = new Audit("DeleteAlias", caller);
    a.details.put("alias", String.valueOf(aliasName));
    try {
      a.checkCaller();
      KeyRefs.checkAliasSyntax(aliasName);
      if (KeyRefs.isReserved(aliasName)) {
        throw new KmsAccessDeniedException("alias " + aliasName + " is reserved for a service-managed key and cannot be deleted");
      }
      mutation.lock();
      try {
        ensureOpen();
        UUID keyId = catalog.snapshot().aliases().get(aliasName);
        if (keyId == null) {
          throw new NotFoundException("alias " + aliasName + " does not exist");
        }
        a.key(keyId, null);
        catalog.commit(catalog.snapshot().withoutAlias(aliasName));
        a.allowed(null);
      } finally {
        mutation.unlock();
      }
    } catch (KmsException | RuntimeException e) {
      throw a.refused(e);
    }
  }

  @Override
  public List<AliasEntry> listAliases() throws KmsException {
    ensureOpen();
    purgeAllDue();
    List<AliasEntry> out = new ArrayList<>();
    catalog.snapshot().aliases().forEach((name, id) -> out.add(new AliasEntry(name, id)));
    return out;
  }

  @Override
  public KeyMetadata defaultKey() throws KmsException {
    ensureOpen();
    KeyRecord k = ensureDefaultKey(SYSTEM_PRINCIPAL);
    return metadata(k, catalog.snapshot());
  }

  private KeyRecord ensureDefaultKey(String trigger) throws KmsException {
    UUID id = catalog.snapshot().aliases().get(DEFAULT_KEY_ALIAS);
    if (id != null) {
      return liveKey(id);
    }
    mutation.lock();
    try {
      ensureOpen();
      id = catalog.snapshot().aliases().get(DEFAULT_KEY_ALIAS);
      if (id != null) {
        return liveKey(id);
      }
      KmsProvider provider = providers.get(defaultKeyProvider);
      Audit a = new Audit("CreateKey", SYSTEM_PRINCIPAL);
      a.details.put("provider", defaultKeyProvider);
      a.details.put("keyManager", KeyManager.SERVICE.name());
      a.details.put("alias", DEFAULT_KEY_ALIAS);
      a.details.put("triggeredBy", trigger == null ? "(none)" : trigger);
      try {
        KeyRecord k = createKeyLocked(provider, DEFAULT_KEY_DESCRIPTION, KeyManager.SERVICE,
            DEFAULT_ROTATION_PERIOD_DAYS, DEFAULT_KEY_ALIAS, a);
        a.allowed(null);
        return k;
      } catch (KmsException | RuntimeException e) {
        throw a.refused(e);
      }
    } finally {
      mutation.unlock();
    }
  }

  @Override
  public MaintenanceReport runMaintenance() throws KmsException {
    ensureOpen();
    List<UUID> rotated = new ArrayList<>();
    List<UUID> deleted = new ArrayList<>();
    List<UUID> failed = new ArrayList<>();
    for (KeyRecord k : catalog.snapshot().keys().values()) {
      Instant now = clock.instant();
      if (isDue(k, now)) {
        if (deleteIfDue(k.keyId())) {
          deleted.add(k.keyId());
        } else if (catalog.snapshot().keys().containsKey(k.keyId())) {
          failed.add(k.keyId());
        }
      } else if (k.state() == KeyState.ENABLED && k.nextRotationDate() != null && !now.isBefore(k.nextRotationDate())) {
        Audit a = new Audit("RotateKey", SYSTEM_PRINCIPAL);
        a.details.put("automatic", true);
        mutation.lock();
        try {
          ensureOpen();
          KeyRecord fresh = catalog.snapshot().keys().get(k.keyId());
          if (fresh != null && fresh.state() == KeyState.ENABLED && fresh.nextRotationDate() != null
              && !clock.instant().isBefore(fresh.nextRotationDate())) {
            rotateLocked(fresh, a);
            a.allowed(null);
            rotated.add(k.keyId());
          }
        } catch (KmsException | RuntimeException e) {
          LOG.warn("automatic rotation of key {} failed; retrying on the next pass: {}", k.keyId(), e.toString());
          failed.add(k.keyId());
          try {
            a.refused(e);
          } catch (RuntimeException ignored) {
            // already logged above
          }
        } finally {
          mutation.unlock();
        }
      }
    }
    return new MaintenanceReport(rotated, deleted, failed);
  }

  @Override
  public void close() {
    mutation.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      for (KmsProvider p : providers.values()) {
        try {
          p.close();
        } catch (RuntimeException e) {
          LOG.warn("closing provider {} failed: {}", p.scheme(), e.toString());
        }
      }
      audit.close();
      try {
        lock.release();
        lockChannel.close();
      } catch (java.io.IOException e) {
        LOG.warn("releasing the keystore lock failed: {}", e.toString());
      }
    } finally {
      mutation.unlock();
    }
  }

  // ---------------------------------------------------------------- helpers

  private interface StateChange {
    KeyRecord apply(KeyRecord k) throws KmsException;
  }

  private KeyMetadata changeState(String operation, String keyRef, String caller, StateChange change)
      throws KmsException {
    Audit a = new Audit(operation, caller);
    try {
      a.checkCaller();
      mutation.lock();
      try {
        ensureOpen();
        KeyRecord k = liveKey(keyRef);
        a.key(k.keyId(), null);
        KeyRecord changed = change.apply(k);
        if (!changed.equals(k)) {
          catalog.commit(catalog.snapshot().withKey(changed));
          LOG.info("{} on key {}: now {}", operation, k.keyId(), changed.state());
        }
        if (changed.deletionDate() != null) {
          a.details.put("deletionDate", changed.deletionDate().toString());
        }
        a.allowed(null);
        return metadata(changed, catalog.snapshot());
      } finally {
        mutation.unlock();
      }
    } catch (KmsException | RuntimeException e) {
      throw a.refused(e);
    }
  }

  private KeyRecord liveKey(String keyRef) throws KmsException {
    KeyRefs.Ref ref = KeyRefs.parse(keyRef);
    KeyCatalog.State s = catalog.snapshot();
    UUID id;
    if (ref instanceof KeyRefs.ByAlias byAlias) {
      id = s.aliases().get(byAlias.alias());
      if (id == null) {
        throw new NotFoundException("alias " + byAlias.alias() + " does not exist");
      }
    } else if (ref instanceof KeyRefs.ByUri byUri) {
      id = byUri.keyId();
      KeyRecord k = s.keys().get(id);
      if (k != null && !k.provider().equals(byUri.scheme())) {
        throw new NotFoundException("key URI " + keyRef + " does not match key " + id + ", which is " + uri(k));
      }
    } else {
      id = ((KeyRefs.ById) ref).keyId();
    }
    return liveKey(id);
  }

  /** The key, unless it does not exist or its deletion is due (then it is deleted now). */
  private KeyRecord liveKey(UUID keyId) throws KmsException {
    KeyRecord k = catalog.snapshot().keys().get(keyId);
    if (k == null) {
      throw new NotFoundException("key " + keyId + " does not exist");
    }
    if (isDue(k, clock.instant())) {
      deleteIfDue(keyId);
      throw new NotFoundException("key " + keyId + " was deleted: its pending deletion window ended " + k.deletionDate());
    }
    return k;
  }

  private static boolean isDue(KeyRecord k, Instant now) {
    return k.state() == KeyState.PENDING_DELETION && !now.isBefore(k.deletionDate());
  }

  private void purgeAllDue() {
    Instant now = clock.instant();
    for (KeyRecord k : catalog.snapshot().keys().values()) {
      if (isDue(k, now)) {
        deleteIfDue(k.keyId());
      }
    }
  }

  /**
   * Destroys every version's material, then drops the key and its aliases from the catalog.
   * Material first: if destruction fails the key stays in the catalog (still refused, as it is
   * past its window) and the next pass repeats the idempotent destroy calls.
   *
   * @return whether the key is gone now
   */
  private boolean deleteIfDue(UUID keyId) {
    mutation.lock();
    try {
      if (closed) {
        return false;
      }
      KeyRecord k = catalog.snapshot().keys().get(keyId);
      if (k == null) {
        return true;
      }
      if (!isDue(k, clock.instant())) {
        return false;
      }
      Audit a = new Audit("DeleteKey", SYSTEM_PRINCIPAL);
      a.key(keyId, null);
      a.details.put("deletionDate", k.deletionDate().toString());
      a.details.put("versions", k.versions().size());
      a.details.put("aliases", catalog.snapshot().aliasesOf(keyId));
      try {
        KmsProvider provider = provider(k);
        for (KeyRecord.VersionRecord v : k.versions()) {
          provider.destroyKeyMaterial(k.ref(v));
        }
        catalog.commit(catalog.snapshot().withoutKey(keyId));
        a.allowed(null);
        LOG.info("deleted key {} ({} versions) after its pending window", keyId, k.versions().size());
        return true;
      } catch (KmsException | RuntimeException e) {
        LOG.warn("deleting key {} failed; it stays refused and deletion is retried: {}", keyId, e.toString());
        try {
          a.refused(e);
        } catch (RuntimeException ignored) {
          // logged above
        }
        return false;
      }
    } finally {
      mutation.unlock();
    }
  }

  private static void requireEnabled(KeyRecord k, String operation) throws InvalidKeyStateException {
    switch (k.state()) {
      case ENABLED:
        return;
      case DISABLED:
        throw new KeyDisabledException(k.keyId(), operation);
      default:
        throw new InvalidKeyStateException(k.keyId(), k.state(), operation);
    }
  }

  private static void refusePendingDeletion(KeyRecord k, String operation) throws InvalidKeyStateException {
    if (k.state() == KeyState.PENDING_DELETION) {
      throw new InvalidKeyStateException(k.keyId(), k.state(), operation);
    }
  }

  private static void refuseServiceManaged(KeyRecord k, String what) throws KmsAccessDeniedException {
    if (k.keyManager() == KeyManager.SERVICE) {
      throw new KmsAccessDeniedException("key " + k.keyId() + " is the service-managed default key ("
          + DEFAULT_KEY_ALIAS + "); it cannot be " + what);
    }
  }

  private static void checkRotationPeriod(int days) throws InvalidRequestException {
    if (days != 0 && (days < 1 || days > MAX_ROTATION_PERIOD_DAYS)) {
      throw new InvalidRequestException("rotation period must be 1 to " + MAX_ROTATION_PERIOD_DAYS
          + " days, or 0 for no automatic rotation, not " + days);
    }
  }

  private KmsProvider provider(KeyRecord k) throws KmsConfigurationException {
    KmsProvider p = providers.get(k.provider());
    if (p == null) {
      throw new KmsConfigurationException("key " + k.keyId() + " lives on provider '" + k.provider()
          + "', which is not registered with this KMS");
    }
    return p;
  }

  private static String uri(KeyRecord k) {
    return KeyRefs.uri(k.provider(), k.keyId());
  }

  private static KeyMetadata metadata(KeyRecord k, KeyCatalog.State s) {
    return new KeyMetadata(k.keyId(), uri(k), k.provider(), k.description(), k.keyManager(), k.state(),
        k.creationDate(), k.deletionDate(), k.current().version(),
        k.versions().stream().map(KeyRecord.VersionRecord::version).toList(), k.rotationPeriodDays(),
        k.current().creationDate(), k.nextRotationDate(), s.aliasesOf(k.keyId()));
  }

  private static void destroyQuietly(KmsProvider provider, ProviderKeyRef ref) {
    try {
      provider.destroyKeyMaterial(ref);
    } catch (KmsException | RuntimeException e) {
      LOG.warn("could not remove orphaned material {} v{} from {}: {}", ref.keyId(), ref.version(),
          provider.scheme(), e.toString());
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("the KMS is closed");
    }
  }

  /** Collects what one audit entry says, and writes it exactly once. */
  private final class Audit {
    final String operation;
    final String principal;
    final Map<String, Object> details = new LinkedHashMap<>();
    SortedMap<String, String> context;
    UUID keyId;
    Integer keyVersion;

    Audit(String operation, String caller) {
      this.operation = operation;
      this.principal = caller == null || caller.isBlank() ? "(none)" : caller;
    }

    void checkCaller() throws InvalidRequestException {
      if (principal.equals("(none)")) {
        throw new InvalidRequestException("a caller principal is required for " + operation);
      }
    }

    SortedMap<String, String> context(Map<String, String> raw) throws InvalidRequestException {
      context = EncryptionContexts.normalize(raw);
      return context;
    }

    void key(UUID id, Integer version) {
      keyId = id;
      keyVersion = version;
    }

    /** Writes the allowed entry; if that fails, the result is destroyed and the call fails. */
    void allowed(AutoCloseable result) throws KmsException {
      try {
        audit.write(event(true, null, null));
      } catch (KmsException e) {
        if (result != null) {
          try {
            result.close();
          } catch (Exception ignored) {
            // DataKey.close cannot fail
          }
        }
        throw e;
      }
    }

    /** Writes the refused entry and returns the exception to throw. */
    KmsException refused(Exception e) {
      KmsException k = e instanceof KmsException ke ? ke
          : new KmsInternalException("unexpected failure in " + operation + ": " + e, e);
      if (!(e instanceof KmsException)) {
        LOG.error("unexpected failure in {}", operation, e);
      }
      try {
        audit.write(event(false, k.code(), k.getMessage()));
      } catch (KmsException auditFailure) {
        k.addSuppressed(auditFailure);
        LOG.error("could not audit a refused {}: {}", operation, auditFailure.toString());
      }
      return k;
    }

    private AuditLog.Event event(boolean allowed, String code, String reason) {
      return new AuditLog.Event(clock.instant(), principal, operation, keyId, keyVersion, context, allowed,
          code, reason, details);
    }
  }
}
