package io.coffer.kms;

/**
 * Lifecycle state of a customer master key, as in AWS KMS. A deleted key has no state: it is
 * gone from the catalog and its material is destroyed.
 *
 * <pre>
 *   ENABLED  &lt;--enable/disable--&gt;  DISABLED
 *      |                              ^   |
 *      +--schedule deletion--+        |   |
 *                            v        |   |
 *                    PENDING_DELETION-+   |  (cancel returns to DISABLED)
 *                            |  &lt;--------+  (schedule deletion)
 *                            v
 *                      (deleted once the window has passed)
 * </pre>
 */
public enum KeyState {
  /** Usable for every operation. */
  ENABLED,
  /** Kept, but refused for generate, decrypt and re-encrypt until enabled again. */
  DISABLED,
  /** Refused for every cryptographic use; deleted for good when its deletion date passes. */
  PENDING_DELETION
}
