package io.coffer.kms;

import io.coffer.kms.kmip.KmipConfig;
import io.coffer.kms.kmip.KmipKeyProvider;
import io.coffer.kms.local.AtomicFiles;
import io.coffer.kms.local.LocalKeyProvider;
import io.coffer.kms.local.RootKeySource;
import io.coffer.kms.pkcs11.Pkcs11Config;
import io.coffer.kms.pkcs11.Pkcs11KeyProvider;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds a {@link Kms}. Providers are registered here explicitly and nowhere else: {@code local}
 * always, {@code pkcs11} and {@code kmip} when configured, others through
 * {@link #provider(KmsProvider)}.
 *
 * <pre>{@code
 * Kms kms = Kms.builder()
 *     .keystoreDir(dataDir.resolve("kms"))                  // required
 *     .rootKey(RootKeySource.file(dataDir.resolve("kms/root.key")))   // the default
 *     .pkcs11(Pkcs11Config.builder().library(Path.of("/usr/lib/softhsm/libsofthsm2.so"))
 *         .slotListIndex(0).pin(pin).build())                // optional
 *     .kmip(KmipConfig.builder().host("kmip.example").port(5696)
 *         .caFile(ca).certFile(cert).keyFile(key).build())   // optional
 *     .build();
 * }</pre>
 *
 * <p>Not thread-safe; use from one thread, then share the built {@link Kms}.
 */
public final class KmsBuilder {
  private static final Logger LOG = LoggerFactory.getLogger(KmsBuilder.class);

  private Path keystoreDir;
  private RootKeySource rootKey;
  private Clock clock = Clock.systemUTC();
  private Path auditLog;
  private boolean auditFsync = true;
  private Pkcs11Config pkcs11;
  private KmipConfig kmip;
  private final List<KmsProvider> extra = new ArrayList<>();
  private String defaultKeyProvider = LocalKeyProvider.SCHEME;

  KmsBuilder() {}

  /** The keystore directory, e.g. {@code <server-data-dir>/kms}; created with mode 0700. Required. */
  public KmsBuilder keystoreDir(Path dir) {
    this.keystoreDir = Objects.requireNonNull(dir);
    return this;
  }

  /** Where the local provider's root key comes from. Default: {@code <keystoreDir>/root.key}. */
  public KmsBuilder rootKey(RootKeySource source) {
    this.rootKey = Objects.requireNonNull(source);
    return this;
  }

  /** The clock for creation, rotation and deletion dates. Default: system UTC. */
  public KmsBuilder clock(Clock clock) {
    this.clock = Objects.requireNonNull(clock);
    return this;
  }

  /** The JSON-lines audit log. Default: {@code <keystoreDir>/audit.log}. */
  public KmsBuilder auditLog(Path file) {
    this.auditLog = Objects.requireNonNull(file);
    return this;
  }

  /** Whether each audit entry is forced to disk before the call returns. Default: true. */
  public KmsBuilder auditFsync(boolean fsync) {
    this.auditFsync = fsync;
    return this;
  }

  /** Registers the {@code pkcs11} provider. */
  public KmsBuilder pkcs11(Pkcs11Config config) {
    this.pkcs11 = Objects.requireNonNull(config);
    return this;
  }

  /** Registers the {@code kmip} provider. */
  public KmsBuilder kmip(KmipConfig config) {
    this.kmip = Objects.requireNonNull(config);
    return this;
  }

  /**
   * Registers another provider under its {@link KmsProvider#scheme()}. The built KMS owns it and
   * closes it.
   */
  public KmsBuilder provider(KmsProvider provider) {
    extra.add(Objects.requireNonNull(provider));
    return this;
  }

  /** The provider the service-managed default key is created on. Default: {@code local}. */
  public KmsBuilder defaultKeyProvider(String scheme) {
    this.defaultKeyProvider = Objects.requireNonNull(scheme);
    return this;
  }

  /**
   * Opens the keystore (creating it if needed), loads the root key and connects the providers.
   *
   * @throws KmsConfigurationException unsafe root key file, wrong passphrase, corrupt catalog,
   *     keystore used by another process, provider set-up failure
   * @throws InvalidRequestException two providers with one scheme, unknown default provider
   */
  public Kms build() throws KmsException {
    if (keystoreDir == null) {
      throw new InvalidRequestException("a keystore directory is required");
    }
    Map<String, KmsProvider> providers = new LinkedHashMap<>();
    FileChannel lockChannel = null;
    FileLock lock = null;
    AuditLog audit = null;
    boolean done = false;
    try {
      try {
        AtomicFiles.createDirectories(keystoreDir);
        lockChannel = FileChannel.open(keystoreDir.resolve("keystore.lock"), StandardOpenOption.CREATE,
            StandardOpenOption.WRITE);
        lock = lockChannel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      } catch (IOException e) {
        throw new KmsConfigurationException("cannot open the keystore " + keystoreDir + ": " + e.getMessage(), e);
      }
      if (lock == null) {
        throw new KmsConfigurationException("the keystore " + keystoreDir + " is in use by another KMS instance");
      }
      KeyCatalog catalog = KeyCatalog.open(keystoreDir);
      register(providers, LocalKeyProvider.open(keystoreDir,
          rootKey != null ? rootKey : RootKeySource.file(keystoreDir.resolve("root.key"))));
      if (pkcs11 != null) {
        register(providers, Pkcs11KeyProvider.open(pkcs11));
      }
      if (kmip != null) {
        register(providers, KmipKeyProvider.open(kmip));
      }
      for (KmsProvider p : extra) {
        register(providers, p);
      }
      if (!providers.containsKey(defaultKeyProvider)) {
        throw new InvalidRequestException("default key provider '" + defaultKeyProvider + "' is not registered");
      }
      for (KeyRecord k : catalog.snapshot().keys().values()) {
        if (!providers.containsKey(k.provider())) {
          LOG.warn("key {} lives on provider '{}', which is not registered: it cannot be used", k.keyId(), k.provider());
        }
      }
      audit = new AuditLog(auditLog != null ? auditLog : keystoreDir.resolve("audit.log"), auditFsync);
      Kms kms = new DefaultKms(catalog, providers, defaultKeyProvider, clock, audit, lockChannel, lock);
      done = true;
      LOG.info("KMS open on {} with providers {}", keystoreDir, providers.keySet());
      return kms;
    } finally {
      if (!done) {
        providers.values().forEach(KmsProvider::close);
        extra.stream().filter(p -> !providers.containsValue(p)).forEach(KmsProvider::close);
        if (audit != null) {
          audit.close();
        }
        try {
          if (lock != null) {
            lock.release();
          }
          if (lockChannel != null) {
            lockChannel.close();
          }
        } catch (IOException ignored) {
          // the open failed anyway
        }
      }
    }
  }

  private static void register(Map<String, KmsProvider> providers, KmsProvider p) throws InvalidRequestException {
    if (!KeyRefs.isValidScheme(p.scheme())) {
      throw new InvalidRequestException("provider scheme '" + p.scheme() + "' must be lower-case letters and digits");
    }
    if (providers.putIfAbsent(p.scheme(), p) != null) {
      throw new InvalidRequestException("two providers claim the scheme '" + p.scheme() + "'");
    }
  }
}
