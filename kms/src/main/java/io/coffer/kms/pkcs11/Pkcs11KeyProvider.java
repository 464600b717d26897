package io.coffer.kms.pkcs11;

import io.coffer.kms.InvalidCiphertextException;
import io.coffer.kms.KmsConfigurationException;
import io.coffer.kms.KmsException;
import io.coffer.kms.KmsInternalException;
import io.coffer.kms.KmsProvider;
import io.coffer.kms.KmsUnavailableException;
import io.coffer.kms.NotFoundException;
import io.coffer.kms.ProviderKeyRef;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.security.AuthProvider;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.Provider;
import java.security.ProviderException;
import java.security.SecureRandom;
import java.security.Security;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.security.auth.login.LoginException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Key versions live inside a PKCS#11 token as AES-256 secret keys that are sensitive and not
 * extractable: their bytes never reach this process. Data keys are wrapped by the token with
 * {@code AES/GCM/NoPadding} and the KMS's associated data.
 *
 * <p>Each version is generated as a session key (with {@code CKA_SENSITIVE=true,
 * CKA_EXTRACTABLE=false} from the provider's generate template) and stored on the token with
 * {@code KeyStore.setEntry} under the label {@code coffer-<key-id>-v<version>}, which is the
 * handle the catalog keeps. Generating directly with {@code CKA_TOKEN=true} would leave
 * unlabeled objects; key-wrap mechanisms are avoided because SoftHSM 2.6 and SunPKCS11 disagree
 * on them.
 *
 * <p>Provider ciphertext: a 12-byte random IV, then the GCM ciphertext with its 16-byte tag.
 *
 * <p>The SunPKCS11 instance is configured programmatically and never added to the global
 * provider list. Thread-safe (SunPKCS11 pools sessions; its key store is synchronized).
 */
public final class Pkcs11KeyProvider implements KmsProvider {
  /** This provider's URI scheme. */
  public static final String SCHEME = "pkcs11";
  private static final Logger LOG = LoggerFactory.getLogger(Pkcs11KeyProvider.class);
  // Not "AES_256/GCM/NoPadding": keys read back from the token store report a wrong size.
  private static final String TRANSFORMATION = "AES/GCM/NoPadding";
  private static final int IV_BYTES = 12;
  private static final int TAG_BITS = 128;

  private final Provider provider;
  private final KeyStore keyStore;
  private final SecureRandom random = new SecureRandom();
  private final Map<String, SecretKey> cache = new ConcurrentHashMap<>();
  private volatile boolean closed;

  private Pkcs11KeyProvider(Provider provider, KeyStore keyStore) {
    this.provider = provider;
    this.keyStore = keyStore;
  }

  /**
   * Loads the PKCS#11 library and logs in to the token.
   *
   * @throws KmsConfigurationException missing library, no such slot, wrong PIN
   */
  public static Pkcs11KeyProvider open(Pkcs11Config config) throws KmsException {
    if (!Files.isReadable(config.library())) {
      throw new KmsConfigurationException("PKCS#11 library " + config.library() + " does not exist or is unreadable");
    }
    String inline = "--name=" + config.name() + "\n"
        + "library=" + config.library().toAbsolutePath() + "\n"
        + "slotListIndex=" + config.slotListIndex() + "\n"
        + "attributes(generate, CKO_SECRET_KEY, CKK_AES) = {\n"
        + "  CKA_SENSITIVE = true\n"
        + "  CKA_EXTRACTABLE = false\n"
        + "  CKA_ENCRYPT = true\n"
        + "  CKA_DECRYPT = true\n"
        + "}\n";
    Provider base = Security.getProvider("SunPKCS11");
    if (base == null) {
      throw new KmsConfigurationException("this JDK has no SunPKCS11 provider");
    }
    Provider p;
    try {
      p = base.configure(inline);
    } catch (ProviderException | IllegalArgumentException e) {
      throw new KmsConfigurationException("cannot load PKCS#11 library " + config.library() + " slot index "
          + config.slotListIndex() + ": " + rootMessage(e), e);
    }
    char[] pin = config.pin();
    try {
      KeyStore ks = KeyStore.getInstance("PKCS11", p);
      ks.load(null, pin);
      LOG.info("PKCS#11 token open: {} ({})", p.getName(), config.library());
      return new Pkcs11KeyProvider(p, ks);
    } catch (IOException e) {
      throw new KmsConfigurationException("cannot log in to the PKCS#11 token (wrong PIN?): " + rootMessage(e), e);
    } catch (GeneralSecurityException | ProviderException e) {
      throw new KmsConfigurationException("cannot open the PKCS#11 key store: " + rootMessage(e), e);
    } finally {
      Arrays.fill(pin, '\0');
    }
  }

  @Override
  public String scheme() {
    return SCHEME;
  }

  @Override
  public String createKeyMaterial(UUID keyId, int version) throws KmsException {
    ensureOpen();
    String alias = "coffer-" + keyId + "-v" + version;
    try {
      if (keyStore.containsAlias(alias)) {
        throw new KmsInternalException("token already holds an object labeled " + alias);
      }
      KeyGenerator gen = KeyGenerator.getInstance("AES", provider);
      gen.init(256);
      SecretKey sessionKey = gen.generateKey();
      keyStore.setEntry(alias, new KeyStore.SecretKeyEntry(sessionKey), null);
      Key stored = keyStore.getKey(alias, null);
      if (!(stored instanceof SecretKey sk)) {
        throw new KmsInternalException("token did not keep the key stored as " + alias);
      }
      cache.put(alias, sk);
      return alias;
    } catch (GeneralSecurityException e) {
      throw new KmsInternalException("token could not create key " + keyId + " v" + version + ": " + rootMessage(e), e);
    } catch (ProviderException e) {
      throw new KmsUnavailableException("PKCS#11 token failed creating key " + keyId + ": " + rootMessage(e), e);
    }
  }

  @Override
  public byte[] encrypt(ProviderKeyRef ref, byte[] plaintext, byte[] aad) throws KmsException {
    SecretKey key = key(ref);
    byte[] iv = new byte[IV_BYTES];
    random.nextBytes(iv);
    try {
      Cipher c = Cipher.getInstance(TRANSFORMATION, provider);
      c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, iv));
      c.updateAAD(aad);
      byte[] ct = c.doFinal(plaintext);
      return ByteBuffer.allocate(IV_BYTES + ct.length).put(iv).put(ct).array();
    } catch (GeneralSecurityException e) {
      throw new KmsInternalException("token encryption failed: " + rootMessage(e), e);
    } catch (ProviderException e) {
      throw new KmsUnavailableException("PKCS#11 token failed: " + rootMessage(e), e);
    }
  }

  @Override
  public byte[] decrypt(ProviderKeyRef ref, byte[] ciphertext, byte[] aad) throws KmsException {
    if (ciphertext.length < IV_BYTES + TAG_BITS / 8) {
      throw new InvalidCiphertextException("pkcs11 ciphertext is too short");
    }
    SecretKey key = key(ref);
    try {
      Cipher c = Cipher.getInstance(TRANSFORMATION, provider);
      c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, Arrays.copyOf(ciphertext, IV_BYTES)));
      c.updateAAD(aad);
      return c.doFinal(ciphertext, IV_BYTES, ciphertext.length - IV_BYTES);
    } catch (AEADBadTagException e) {
      throw new InvalidCiphertextException("wrapped key failed authentication (tampered, wrong encryption context, or another key)", e);
    } catch (javax.crypto.BadPaddingException | javax.crypto.IllegalBlockSizeException e) {
      throw new InvalidCiphertextException("token refused the wrapped key: " + rootMessage(e), e);
    } catch (GeneralSecurityException e) {
      throw new KmsInternalException("token decryption failed: " + rootMessage(e), e);
    } catch (ProviderException e) {
      throw new KmsUnavailableException("PKCS#11 token failed: " + rootMessage(e), e);
    }
  }

  @Override
  public void destroyKeyMaterial(ProviderKeyRef ref) throws KmsException {
    ensureOpen();
    String alias = ref.handle();
    cache.remove(alias);
    try {
      if (keyStore.containsAlias(alias)) {
        keyStore.deleteEntry(alias);
        LOG.info("destroyed token object {}", alias);
      }
    } catch (GeneralSecurityException e) {
      throw new KmsInternalException("cannot destroy token object " + alias + ": " + rootMessage(e), e);
    } catch (ProviderException e) {
      throw new KmsUnavailableException("PKCS#11 token failed destroying " + alias + ": " + rootMessage(e), e);
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    cache.clear();
    if (provider instanceof AuthProvider auth) {
      try {
        auth.logout();
      } catch (LoginException | ProviderException e) {
        LOG.debug("PKCS#11 logout failed: {}", e.toString());
      }
    }
  }

  /** For tests and diagnostics: the token's own description of a stored key (no key bytes). */
  String describeTokenKey(String alias) throws GeneralSecurityException {
    Key k = keyStore.getKey(alias, null);
    return k == null ? null : k.toString() + " encoded=" + (k.getEncoded() == null ? "null" : "PRESENT");
  }

  private SecretKey key(ProviderKeyRef ref) throws KmsException {
    ensureOpen();
    String alias = ref.handle();
    SecretKey cached = cache.get(alias);
    if (cached != null) {
      return cached;
    }
    try {
      Key k = keyStore.getKey(alias, null);
      if (!(k instanceof SecretKey sk)) {
        throw new NotFoundException("token holds no key labeled " + alias + " (key " + ref.keyId() + " v" + ref.version() + ")");
      }
      cache.put(alias, sk);
      return sk;
    } catch (GeneralSecurityException e) {
      throw new KmsInternalException("cannot read token key " + alias + ": " + rootMessage(e), e);
    } catch (ProviderException e) {
      throw new KmsUnavailableException("PKCS#11 token failed reading " + alias + ": " + rootMessage(e), e);
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("the PKCS#11 key provider is closed");
    }
  }

  private static String rootMessage(Throwable t) {
    Throwable c = t;
    StringBuilder sb = new StringBuilder(String.valueOf(t.getMessage()));
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
      sb.append(" <- ").append(c.getMessage());
    }
    return sb.toString();
  }

  @Override
  public String toString() {
    return "Pkcs11KeyProvider[" + provider.getName() + "]";
  }
}
