package io.coffer.kms;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * The self-describing wrapped data key, format version 1:
 *
 * <pre>
 * offset  size  field
 *      0     1  format version, 0x01
 *      1    16  key id (UUID, most significant 8 bytes first)
 *     17     4  key version, unsigned big-endian, &ge; 1
 *     21     4  N = length of the provider ciphertext, big-endian, 1..4096
 *     25     N  provider ciphertext (opaque; see each provider)
 * </pre>
 *
 * Nothing may follow. The first 21 bytes (the header) are authenticated by the provider as part
 * of the associated data ({@link #aad}), so a key id or version cannot be swapped without the
 * provider refusing the ciphertext.
 */
final class WrappedKeyFormat {
  static final byte VERSION_1 = 0x01;
  static final int HEADER_LENGTH = 1 + 16 + 4;
  static final int PREFIX_LENGTH = HEADER_LENGTH + 4;
  private static final byte[] AAD_LABEL = "coffer-kms/wrapped-key/v1\0".getBytes(StandardCharsets.US_ASCII);

  /** A parsed wrapped key; {@code header} is the exact first 21 bytes. */
  record Parsed(UUID keyId, int keyVersion, byte[] header, byte[] ciphertext) {}

  private WrappedKeyFormat() {}

  static byte[] header(UUID keyId, int keyVersion) {
    return ByteBuffer.allocate(HEADER_LENGTH)
        .put(VERSION_1)
        .putLong(keyId.getMostSignificantBits())
        .putLong(keyId.getLeastSignificantBits())
        .putInt(keyVersion)
        .array();
  }

  static byte[] assemble(byte[] header, byte[] providerCiphertext) {
    if (providerCiphertext.length == 0 || providerCiphertext.length > KmsProvider.MAX_CIPHERTEXT_LENGTH) {
      throw new IllegalStateException("provider ciphertext length out of range: " + providerCiphertext.length);
    }
    return ByteBuffer.allocate(PREFIX_LENGTH + providerCiphertext.length)
        .put(header)
        .putInt(providerCiphertext.length)
        .put(providerCiphertext)
        .array();
  }

  /** Associated data the provider must authenticate: a label, the header, the context. */
  static byte[] aad(byte[] header, byte[] canonicalContext) {
    return ByteBuffer.allocate(AAD_LABEL.length + header.length + canonicalContext.length)
        .put(AAD_LABEL)
        .put(header)
        .put(canonicalContext)
        .array();
  }

  static Parsed parse(byte[] wrapped) throws InvalidCiphertextException {
    if (wrapped == null) {
      throw new InvalidCiphertextException("wrapped key is missing");
    }
    if (wrapped.length < PREFIX_LENGTH + 1) {
      throw new InvalidCiphertextException("wrapped key is too short (" + wrapped.length + " bytes)");
    }
    try {
      ByteBuffer in = ByteBuffer.wrap(wrapped);
      byte version = in.get();
      if (version != VERSION_1) {
        throw new InvalidCiphertextException(
            "unknown wrapped key format version " + (version & 0xff) + " (this KMS reads version 1)");
      }
      UUID keyId = new UUID(in.getLong(), in.getLong());
      int keyVersion = in.getInt();
      if (keyVersion < 1) {
        throw new InvalidCiphertextException("wrapped key names an impossible key version " + Integer.toUnsignedString(keyVersion));
      }
      int length = in.getInt();
      if (length < 1 || length > KmsProvider.MAX_CIPHERTEXT_LENGTH || length != in.remaining()) {
        throw new InvalidCiphertextException("wrapped key length field does not match its size");
      }
      byte[] header = new byte[HEADER_LENGTH];
      System.arraycopy(wrapped, 0, header, 0, HEADER_LENGTH);
      byte[] ciphertext = new byte[length];
      in.get(ciphertext);
      return new Parsed(keyId, keyVersion, header, ciphertext);
    } catch (BufferUnderflowException e) {
      throw new InvalidCiphertextException("wrapped key is truncated", e);
    }
  }
}
