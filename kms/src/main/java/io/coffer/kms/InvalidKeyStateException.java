package io.coffer.kms;

import java.util.Objects;
import java.util.UUID;

/**
 * The key exists but its state forbids the requested operation, for instance generating a data
 * key under a key that is pending deletion. The message and the accessors name the key and its
 * state.
 */
public class InvalidKeyStateException extends KmsException {
  private static final long serialVersionUID = 1L;

  private final UUID keyId;
  private final KeyState state;

  public InvalidKeyStateException(UUID keyId, KeyState state, String operation) {
    super("key " + keyId + " is " + state + ": " + operation + " is not allowed in that state");
    this.keyId = Objects.requireNonNull(keyId);
    this.state = Objects.requireNonNull(state);
  }

  public UUID keyId() {
    return keyId;
  }

  public KeyState state() {
    return state;
  }

  @Override
  public String code() {
    return "InvalidKeyState";
  }
}
