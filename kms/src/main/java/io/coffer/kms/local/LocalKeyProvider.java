package io.coffer.kms.local;

import io.coffer.kms.InvalidCiphertextException;
import io.coffer.kms.KmsConfigurationException;
import io.coffer.kms.KmsException;
import io.coffer.kms.KmsInternalException;
import io.coffer.kms.KmsProvider;
import io.coffer.kms.NotFoundException;
import io.coffer.kms.ProviderKeyRef;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded provider: each key version is 32 random bytes, sealed with AES-256-GCM under the
 * root key into {@code <keystore>/local/<key-id>/v<version>.key} (written atomically and
 * durably). Data keys are wrapped with AES-256-GCM (SunJCE) under the key version, with the
 * KMS's associated data.
 *
 * <p>Provider ciphertext: a 12-byte random nonce followed by the GCM ciphertext and its 16-byte
 * tag. Random 96-bit nonces keep the collision risk negligible for the number of data keys one
 * key version wraps (far below 2^32); rotation starts a new key.
 *
 * <p>Sealed file: byte {@code 0x01}, a 12-byte nonce, then GCM ciphertext and tag, with the key
 * id and version as associated data so files cannot be swapped between keys or versions.
 *
 * <p>Unsealed versions are cached in memory and zeroed on {@link #close()} or destruction.
 * Thread-safe.
 */
public final class LocalKeyProvider implements KmsProvider {
  /** This provider's URI scheme. */
  public static final String SCHEME = "local";
  static final String DIR = "local";
  private static final Logger LOG = LoggerFactory.getLogger(LocalKeyProvider.class);
  private static final int KEY_BYTES = 32;
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;
  private static final byte SEALED_FORMAT = 0x01;
  private static final byte[] SEAL_LABEL = "coffer-kms/local-key/v1\0".getBytes(StandardCharsets.US_ASCII);

  private final Path keysDir;
  private final KeyMaterial rootKey;
  private final SecureRandom random = new SecureRandom();
  private final Map<ProviderKeyRef, KeyMaterial> cache = new ConcurrentHashMap<>();
  private volatile boolean closed;

  private LocalKeyProvider(Path keysDir, KeyMaterial rootKey) {
    this.keysDir = keysDir;
    this.rootKey = rootKey;
  }

  /**
   * Opens the provider on a keystore directory, loading (or creating) the root key.
   *
   * @throws KmsConfigurationException unsafe or unreadable root key, wrong passphrase
   */
  public static LocalKeyProvider open(Path keystoreDir, RootKeySource rootKeySource) throws KmsException {
    Path keysDir = keystoreDir.resolve(DIR);
    try {
      AtomicFiles.createDirectories(keysDir);
    } catch (IOException e) {
      throw new KmsConfigurationException("cannot create " + keysDir + ": " + e.getMessage(), e);
    }
    KeyMaterial root = rootKeySource.load(keystoreDir);
    return new LocalKeyProvider(keysDir, root);
  }

  /** Whether any sealed key file exists, so a missing root key must not be replaced. */
  static boolean hasSealedKeys(Path keystoreDir) throws KmsConfigurationException {
    Path keysDir = keystoreDir.resolve(DIR);
    if (!Files.isDirectory(keysDir)) {
      return false;
    }
    try (Stream<Path> files = Files.walk(keysDir)) {
      return files.anyMatch(p -> p.getFileName().toString().endsWith(".key"));
    } catch (IOException e) {
      throw new KmsConfigurationException("cannot list " + keysDir + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String scheme() {
    return SCHEME;
  }

  @Override
  public String createKeyMaterial(UUID keyId, int version) throws KmsException {
    ensureOpen();
    byte[] key = new byte[KEY_BYTES];
    random.nextBytes(key);
    try {
      byte[] sealed = seal(keyId, version, key);
      Path file = file(keyId, version);
      AtomicFiles.createDirectories(file.getParent());
      AtomicFiles.write(file, sealed);
      cache.put(new ProviderKeyRef(keyId, version, handle(keyId, version)), new KeyMaterial(key.clone()));
      return handle(keyId, version);
    } catch (IOException e) {
      throw new KmsInternalException("cannot store key " + keyId + " v" + version + ": " + e.getMessage(), e);
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }

  @Override
  public byte[] encrypt(ProviderKeyRef ref, byte[] plaintext, byte[] aad) throws KmsException {
    KeyMaterial key = material(ref);
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, key.spec("AES"), new GCMParameterSpec(TAG_BITS, nonce));
      c.updateAAD(aad);
      byte[] ct = c.doFinal(plaintext);
      return ByteBuffer.allocate(NONCE_BYTES + ct.length).put(nonce).put(ct).array();
    } catch (GeneralSecurityException e) {
      throw new KmsInternalException("AES-GCM encryption failed: " + e, e);
    }
  }

  @Override
  public byte[] decrypt(ProviderKeyRef ref, byte[] ciphertext, byte[] aad) throws KmsException {
    if (ciphertext.length < NONCE_BYTES + TAG_BITS / 8) {
      throw new InvalidCiphertextException("local ciphertext is too short");
    }
    KeyMaterial key = material(ref);
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, key.spec("AES"), new GCMParameterSpec(TAG_BITS, ciphertext, 0, NONCE_BYTES));
      c.updateAAD(aad);
      return c.doFinal(ciphertext, NONCE_BYTES, ciphertext.length - NONCE_BYTES);
    } catch (AEADBadTagException e) {
      throw new InvalidCiphertextException("wrapped key failed authentication (tampered, wrong encryption context, or another key)", e);
    } catch (GeneralSecurityException e) {
      throw new KmsInternalException("AES-GCM decryption failed: " + e, e);
    }
  }

  @Override
  public void destroyKeyMaterial(ProviderKeyRef ref) throws KmsException {
    checkHandle(ref);
    KeyMaterial cached = cache.remove(ref);
    if (cached != null) {
      cached.destroy();
    }
    Path file = file(ref.keyId(), ref.version());
    try {
      if (AtomicFiles.delete(file)) {
        LOG.info("destroyed local key material {} v{}", ref.keyId(), ref.version());
      }
      Path dir = file.getParent();
      try (Stream<Path> left = Files.list(dir)) {
        if (left.findAny().isEmpty()) {
          Files.deleteIfExists(dir);
          AtomicFiles.fsyncDirectory(keysDir);
        }
      }
    } catch (NoSuchFileException e) {
      // already gone: destruction is idempotent
    } catch (IOException e) {
      throw new KmsInternalException("cannot delete " + file + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    closed = true;
    cache.values().forEach(KeyMaterial::destroy);
    cache.clear();
    rootKey.destroy();
  }

  private KeyMaterial material(ProviderKeyRef ref) throws KmsException {
    ensureOpen();
    KeyMaterial m = cache.get(ref);
    if (m != null) {
      return m;
    }
    checkHandle(ref);
    Path file = file(ref.keyId(), ref.version());
    byte[] sealed;
    try {
      sealed = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new NotFoundException("the material of key " + ref.keyId() + " v" + ref.version() + " is missing (" + file + ")");
    } catch (IOException e) {
      throw new KmsInternalException("cannot read " + file + ": " + e.getMessage(), e);
    }
    KeyMaterial loaded = new KeyMaterial(unseal(ref.keyId(), ref.version(), sealed, file));
    KeyMaterial raced = cache.putIfAbsent(ref, loaded);
    if (raced != null) {
      loaded.destroy();
      return raced;
    }
    return loaded;
  }

  private byte[] seal(UUID keyId, int version, byte[] key) throws KmsException {
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, rootKey.spec("AES"), new GCMParameterSpec(TAG_BITS, nonce));
      c.updateAAD(sealAad(keyId, version));
      byte[] ct = c.doFinal(key);
      return ByteBuffer.allocate(1 + NONCE_BYTES + ct.length).put(SEALED_FORMAT).put(nonce).put(ct).array();
    } catch (GeneralSecurityException e) {
      throw new KmsInternalException("sealing a key failed: " + e, e);
    }
  }

  private byte[] unseal(UUID keyId, int version, byte[] sealed, Path file) throws KmsException {
    if (sealed.length != 1 + NONCE_BYTES + KEY_BYTES + TAG_BITS / 8 || sealed[0] != SEALED_FORMAT) {
      throw new KmsConfigurationException("sealed key file " + file + " has an unknown format or size");
    }
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, rootKey.spec("AES"), new GCMParameterSpec(TAG_BITS, sealed, 1, NONCE_BYTES));
      c.updateAAD(sealAad(keyId, version));
      return c.doFinal(sealed, 1 + NONCE_BYTES, sealed.length - 1 - NONCE_BYTES);
    } catch (AEADBadTagException e) {
      throw new KmsConfigurationException("sealed key file " + file
          + " does not open with this root key (wrong root key, or the file was altered or moved)", e);
    } catch (GeneralSecurityException e) {
      throw new KmsInternalException("unsealing " + file + " failed: " + e, e);
    }
  }

  private static byte[] sealAad(UUID keyId, int version) {
    return ByteBuffer.allocate(SEAL_LABEL.length + 20).put(SEAL_LABEL)
        .putLong(keyId.getMostSignificantBits()).putLong(keyId.getLeastSignificantBits()).putInt(version).array();
  }

  private static String handle(UUID keyId, int version) {
    return keyId + "/v" + version;
  }

  private static void checkHandle(ProviderKeyRef ref) throws KmsInternalException {
    // The path is derived from id and version, never from the handle, so a tampered catalog
    // cannot steer reads or deletes outside the keystore; a mismatch is reported, not followed.
    if (!ref.handle().equals(handle(ref.keyId(), ref.version()))) {
      throw new KmsInternalException("catalog handle '" + ref.handle() + "' does not match key "
          + ref.keyId() + " v" + ref.version());
    }
  }

  private Path file(UUID keyId, int version) {
    return keysDir.resolve(keyId.toString()).resolve("v" + version + ".key");
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("the local key provider is closed");
    }
  }

  @Override
  public String toString() {
    return "LocalKeyProvider[" + keysDir + "]";
  }

}
