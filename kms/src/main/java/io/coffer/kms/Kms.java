package io.coffer.kms;

import java.util.List;
import java.util.Map;

/**
 * The key management service as the file server uses it: envelope encryption with customer
 * master keys (CMKs) held by pluggable providers, modelled on AWS KMS.
 *
 * <p><b>Naming keys.</b> Every {@code keyRef} parameter accepts a key id (a UUID such as
 * {@code 0e7c...}), an alias ({@code alias/NAME}) or a key URI ({@code kms:PROVIDER/KEY-ID}, e.g.
 * {@code kms:local/0e7c...}). An unknown reference gives {@link NotFoundException}; a malformed
 * one {@link InvalidRequestException}.
 *
 * <p><b>Encryption context.</b> A map of non-secret strings bound to a wrapped key as
 * authenticated data. Decryption succeeds only with exactly the same map (order does not
 * matter; {@code null} means empty). It appears in clear in the audit log.
 *
 * <p><b>Callers.</b> {@code caller} is the principal recorded in the audit log (for instance the
 * file system id or the admin's certificate subject); it must not be blank.
 *
 * <p><b>Audit.</b> Every call that uses or changes a key writes one audit entry, allowed or
 * refused, before it returns or throws.
 *
 * <p><b>Thread safety.</b> Implementations are safe for concurrent use by any number of
 * threads. Cryptographic calls do not block each other; management calls are serialized.
 *
 * <p>Build one with {@link #builder()}.
 */
public interface Kms extends AutoCloseable {

  /** The alias of the service-managed default key. */
  String DEFAULT_KEY_ALIAS = "alias/coffer/default";
  /** Rotation period of new keys and of the default key, in days. */
  int DEFAULT_ROTATION_PERIOD_DAYS = 365;
  /** Pending window used when none is given, in days, as in AWS. */
  int DEFAULT_PENDING_WINDOW_DAYS = 30;
  int MIN_PENDING_WINDOW_DAYS = 7;
  int MAX_PENDING_WINDOW_DAYS = 30;

  static KmsBuilder builder() {
    return new KmsBuilder();
  }

  /**
   * Generates a fresh 256-bit data key and wraps it under the current version of a CMK.
   *
   * @param keyRef the CMK; {@link #DEFAULT_KEY_ALIAS} creates the default key on first use
   * @return the plaintext and wrapped data key; close it when the plaintext is no longer needed
   * @throws NotFoundException no such key
   * @throws KeyDisabledException the key is disabled
   * @throws InvalidKeyStateException the key is pending deletion
   * @throws InvalidRequestException bad reference, context or caller
   * @throws KmsUnavailableException a remote provider could not be reached after retries
   */
  DataKey generateDataKey(String keyRef, Map<String, String> context, String caller) throws KmsException;

  /**
   * Unwraps a data key. The wrapped form names its CMK and version, so no key reference is
   * needed; any retained version of the key works, however often it was rotated since.
   *
   * @return the data key (its {@link DataKey#wrapped()} is the input)
   * @throws InvalidCiphertextException malformed, truncated, tampered, wrong context
   * @throws NotFoundException the key it names no longer exists
   * @throws KeyDisabledException the key is disabled
   * @throws InvalidKeyStateException the key is pending deletion
   * @throws KmsUnavailableException a remote provider could not be reached after retries
   */
  DataKey decrypt(byte[] wrapped, Map<String, String> context, String caller) throws KmsException;

  /**
   * Unwraps a data key and wraps the same plaintext under another key (or the current version of
   * the same key) with a new context, without the plaintext leaving the KMS.
   *
   * @return the new wrapped form
   * @throws KmsException as {@link #decrypt} for the source and {@link #generateDataKey} for the
   *     destination
   */
  byte[] reEncrypt(byte[] wrapped, Map<String, String> context, String newKeyRef,
      Map<String, String> newContext, String caller) throws KmsException;

  /**
   * Creates a customer-managed key, enabled, with version 1.
   *
   * @throws InvalidRequestException unknown provider, rotation period out of range
   * @throws KmsUnavailableException the provider could not be reached after retries
   */
  KeyMetadata createKey(CreateKeyRequest request, String caller) throws KmsException;

  /** The key's metadata. @throws NotFoundException no such key */
  KeyMetadata describeKey(String keyRef) throws KmsException;

  /** Every key, including disabled and pending-deletion ones, oldest first. */
  List<KeyMetadata> listKeys() throws KmsException;

  /**
   * Makes a disabled key usable again. Enabling an enabled key does nothing.
   *
   * @throws InvalidKeyStateException the key is pending deletion (cancel the deletion first)
   * @throws KmsAccessDeniedException the key is service-managed
   */
  KeyMetadata enableKey(String keyRef, String caller) throws KmsException;

  /**
   * Refuses every cryptographic use of the key until it is enabled again. Disabling a disabled
   * key does nothing.
   *
   * @throws InvalidKeyStateException the key is pending deletion
   * @throws KmsAccessDeniedException the key is service-managed
   */
  KeyMetadata disableKey(String keyRef, String caller) throws KmsException;

  /**
   * Adds a new version and makes it current; every older version is kept and still decrypts.
   *
   * @throws InvalidKeyStateException the key is not enabled
   * @throws KmsAccessDeniedException the key is service-managed (it rotates itself yearly)
   */
  KeyMetadata rotateKey(String keyRef, String caller) throws KmsException;

  /**
   * Sets the automatic rotation period.
   *
   * @param periodDays 1 to 3650, or 0 to turn automatic rotation off
   * @throws KmsAccessDeniedException the key is service-managed
   */
  KeyMetadata setRotationPeriod(String keyRef, int periodDays, String caller) throws KmsException;

  /**
   * Puts the key in {@link KeyState#PENDING_DELETION}; it is deleted with all its versions once
   * {@code pendingWindowDays} have passed (by the injected clock), on the next access or
   * {@link #runMaintenance()}. Data keys wrapped under it are then lost for good.
   *
   * @param pendingWindowDays 7 to 30
   * @throws InvalidRequestException window out of range
   * @throws InvalidKeyStateException already pending deletion
   * @throws KmsAccessDeniedException the key is service-managed
   */
  KeyMetadata scheduleKeyDeletion(String keyRef, int pendingWindowDays, String caller) throws KmsException;

  /** {@link #scheduleKeyDeletion(String, int, String)} with the default 30-day window. */
  default KeyMetadata scheduleKeyDeletion(String keyRef, String caller) throws KmsException {
    return scheduleKeyDeletion(keyRef, DEFAULT_PENDING_WINDOW_DAYS, caller);
  }

  /**
   * Cancels a scheduled deletion; the key becomes {@link KeyState#DISABLED}, as in AWS.
   *
   * @throws InvalidKeyStateException the key is not pending deletion
   */
  KeyMetadata cancelKeyDeletion(String keyRef, String caller) throws KmsException;

  /**
   * Points a new alias at a key. An alias names one key; a key may have several aliases.
   *
   * @param aliasName {@code alias/} followed by {@code [A-Za-z0-9/_-]+}
   * @throws AlreadyExistsException the alias exists (delete it first)
   * @throws KmsAccessDeniedException the name starts with {@code alias/coffer/} or the key is
   *     service-managed
   */
  AliasEntry createAlias(String aliasName, String keyRef, String caller) throws KmsException;

  /**
   * Removes an alias; the key is untouched.
   *
   * @throws NotFoundException no such alias
   * @throws KmsAccessDeniedException a reserved {@code alias/coffer/} alias
   */
  void deleteAlias(String aliasName, String caller) throws KmsException;

  /** Every alias, sorted by name. */
  List<AliasEntry> listAliases() throws KmsException;

  /**
   * The service-managed default key ({@link #DEFAULT_KEY_ALIAS}), created on first call on the
   * builder's default provider.
   */
  KeyMetadata defaultKey() throws KmsException;

  /**
   * Rotates keys whose automatic rotation is due and deletes keys whose pending window has
   * passed, both by the injected clock. The server should call this periodically (hourly is
   * plenty). Failures of single keys are logged, reported and retried next time.
   */
  MaintenanceReport runMaintenance() throws KmsException;

  /** Closes providers and the audit log. Later calls fail. */
  @Override
  void close();
}
