package io.coffer.kms;

/** Who manages a key's lifecycle, as AWS distinguishes AWS-managed from customer-managed keys. */
public enum KeyManager {
  /**
   * Created by Coffer on first use ({@code alias/coffer/default}), rotated yearly; cannot be
   * disabled, scheduled for deletion, or have its rotation changed.
   */
  SERVICE,
  /** Created and governed by an administrator. */
  CUSTOMER
}
