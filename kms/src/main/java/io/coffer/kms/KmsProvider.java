package io.coffer.kms;

import java.util.UUID;

/**
 * The service provider interface: one implementation per place key material can live (the
 * local keystore, a PKCS#11 token, a KMIP server, ...). A provider only holds material and
 * performs authenticated encryption with it; states, versions, aliases, rotation schedules and
 * audit are kept by the KMS core in its catalog, the same way for every provider.
 *
 * <p>Providers are registered explicitly with {@link KmsBuilder#provider(KmsProvider)} and chosen
 * by the scheme of a key's URI ({@code kms:<scheme>/<keyId>}). Nothing is ever discovered on the
 * class path: a planted provider could otherwise receive plaintext data keys.
 *
 * <p>Implementations must be thread-safe: the KMS calls them concurrently without locking.
 */
public interface KmsProvider extends AutoCloseable {

  /**
   * The scheme in key URIs, lower case letters and digits, e.g. {@code local}. Constant for the
   * life of the provider.
   */
  String scheme();

  /**
   * Creates new, independent key material for one version of a key and makes it durable before
   * returning.
   *
   * @return an opaque handle (at most 1024 characters) the catalog stores and passes back in
   *     {@link ProviderKeyRef#handle()}
   * @throws KmsUnavailableException a remote service could not be reached after retries
   * @throws KmsException any other failure; nothing must be left half-created that a later call
   *     could mistake for usable material
   */
  String createKeyMaterial(UUID keyId, int version) throws KmsException;

  /**
   * Encrypts a data key under one key version, authenticating {@code aad} along with it.
   *
   * @return provider-specific ciphertext, at most {@link #MAX_CIPHERTEXT_LENGTH} bytes
   * @throws NotFoundException the material is gone
   * @throws KmsUnavailableException a remote service could not be reached after retries
   */
  byte[] encrypt(ProviderKeyRef key, byte[] plaintext, byte[] aad) throws KmsException;

  /**
   * Reverses {@link #encrypt}. Must fail closed: any ciphertext that was not produced by
   * {@code encrypt} with the same key version and the same {@code aad} is refused.
   *
   * @throws InvalidCiphertextException malformed ciphertext or failed authentication
   * @throws NotFoundException the material is gone
   * @throws KmsUnavailableException a remote service could not be reached after retries
   */
  byte[] decrypt(ProviderKeyRef key, byte[] ciphertext, byte[] aad) throws KmsException;

  /**
   * Destroys one version's material for good. Idempotent: material that is already gone is not
   * an error, so an interrupted deletion can simply be repeated.
   */
  void destroyKeyMaterial(ProviderKeyRef key) throws KmsException;

  /** Releases sessions and connections; idempotent. */
  @Override
  void close();

  /** Upper bound on provider ciphertext, so a parser can refuse absurd lengths early. */
  int MAX_CIPHERTEXT_LENGTH = 4096;
}
