package io.coffer.kms;

import java.util.UUID;

/** The key is {@link KeyState#DISABLED}; enabling it makes the same request work again. */
public class KeyDisabledException extends InvalidKeyStateException {
  private static final long serialVersionUID = 1L;

  public KeyDisabledException(UUID keyId, String operation) {
    super(keyId, KeyState.DISABLED, operation);
  }

  @Override
  public String code() {
    return "KeyDisabled";
  }
}
