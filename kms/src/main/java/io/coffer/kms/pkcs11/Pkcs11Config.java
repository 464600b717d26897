package io.coffer.kms.pkcs11;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * How to reach a PKCS#11 token through the JDK's SunPKCS11 provider. Immutable; build with
 * {@link #builder()}.
 *
 * <p>The token is chosen by {@code slotListIndex} (its position in the library's slot list), not
 * by slot id: SoftHSM renumbers slot ids when a token is initialised. Settings the library
 * itself reads from its environment (such as {@code SOFTHSM2_CONF}) must be set for the JVM.
 */
public final class Pkcs11Config {
  private final Path library;
  private final int slotListIndex;
  private final char[] pin;
  private final String name;

  private Pkcs11Config(Builder b) {
    this.library = b.library;
    this.slotListIndex = b.slotListIndex;
    this.pin = b.pin.clone();
    this.name = b.name;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The PKCS#11 module, e.g. {@code /usr/lib/softhsm/libsofthsm2.so}. */
  public Path library() {
    return library;
  }

  public int slotListIndex() {
    return slotListIndex;
  }

  /** A copy of the user PIN; the caller should zero it. */
  public char[] pin() {
    return pin.clone();
  }

  /** Suffix of the SunPKCS11 provider name, letters and digits. */
  public String name() {
    return name;
  }

  @Override
  public String toString() {
    return "Pkcs11Config[library=" + library + ", slotListIndex=" + slotListIndex + ", name=" + name + ", pin=***]";
  }

  /** Validating builder. */
  public static final class Builder {
    private Path library;
    private int slotListIndex;
    private char[] pin;
    private String name = "Coffer";

    private Builder() {}

    public Builder library(Path library) {
      this.library = Objects.requireNonNull(library);
      return this;
    }

    public Builder slotListIndex(int index) {
      if (index < 0) {
        throw new IllegalArgumentException("slotListIndex must be >= 0");
      }
      this.slotListIndex = index;
      return this;
    }

    /** The user PIN; copied. */
    public Builder pin(char[] pin) {
      this.pin = Objects.requireNonNull(pin).clone();
      return this;
    }

    public Builder name(String name) {
      if (name == null || !name.matches("[A-Za-z0-9]{1,32}")) {
        throw new IllegalArgumentException("name must be 1 to 32 letters or digits");
      }
      this.name = name;
      return this;
    }

    public Pkcs11Config build() {
      if (library == null) {
        throw new IllegalStateException("a PKCS#11 library path is required");
      }
      if (pin == null || pin.length == 0) {
        throw new IllegalStateException("a PKCS#11 user PIN is required");
      }
      try {
        return new Pkcs11Config(this);
      } finally {
        Arrays.fill(pin, '\0');
        pin = null;
      }
    }
  }
}
