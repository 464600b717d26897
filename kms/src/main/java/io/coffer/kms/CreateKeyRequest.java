package io.coffer.kms;

/**
 * What a new customer-managed key should look like.
 *
 * @param description free text, may be empty; at most 8192 characters
 * @param provider scheme of a registered provider; {@code null} means {@code local}
 * @param rotationPeriodDays automatic rotation period in days, 1 to 3650; 0 turns automatic
 *     rotation off; {@code null} means the default of 365 days
 */
public record CreateKeyRequest(String description, String provider, Integer rotationPeriodDays) {

  /** A local key with the default rotation period. */
  public static CreateKeyRequest of(String description) {
    return new CreateKeyRequest(description, null, null);
  }

  /** A key on the given provider with the default rotation period. */
  public static CreateKeyRequest of(String description, String provider) {
    return new CreateKeyRequest(description, provider, null);
  }
}
