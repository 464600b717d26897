package io.coffer.kms.kmip;

import io.coffer.kms.InvalidCiphertextException;
import io.coffer.kms.KmsAccessDeniedException;
import io.coffer.kms.KmsConfigurationException;
import io.coffer.kms.KmsException;
import io.coffer.kms.KmsInternalException;
import io.coffer.kms.KmsProvider;
import io.coffer.kms.NotFoundException;
import io.coffer.kms.ProviderKeyRef;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Key versions live on a KMIP server and never leave it; data keys are wrapped by the server.
 *
 * <p>Each key version is two AES-256 objects created on the server: an encryption key (usage
 * mask Encrypt|Decrypt) and a MAC key (usage mask MAC Generate only). Wrapping is
 * Encrypt-then-MAC, both done by the server:
 *
 * <pre>
 *   iv  = 16 random bytes (chosen here)
 *   c   = KMIP Encrypt(encKey, AES-CBC, PKCS5 padding, iv, dataKey)
 *   t   = KMIP MAC(macKey, HMAC-SHA256, "coffer-kms/kmip-etm/v1\0" || len32(aad) || aad || iv || c)
 *   out = iv || c || t                                   (16 + 48 + 32 = 96 bytes for a 32-byte key)
 * </pre>
 *
 * Unwrapping recomputes {@code t} on the server and compares it in constant time before asking
 * the server to decrypt; so a wrong encryption context, another key id or version (both in the
 * AAD), or any flipped byte is refused without ever decrypting (no padding oracle). The server's
 * GCM is not used because PyKMIP 0.10 does not return the tag, and KMIP MAC Verify is not
 * implemented there. See docs/kms.md for the argument.
 *
 * <p>Handle in the catalog: {@code enc=<uid>;mac=<uid>}. Deletion revokes then destroys both
 * objects. Thread-safe.
 */
public final class KmipKeyProvider implements KmsProvider {
  /** This provider's URI scheme. */
  public static final String SCHEME = "kmip";
  private static final Logger LOG = LoggerFactory.getLogger(KmipKeyProvider.class);
  private static final int IV_BYTES = 16;
  private static final int TAG_BYTES = 32;
  private static final byte[] MAC_LABEL = "coffer-kms/kmip-etm/v1\0".getBytes(StandardCharsets.US_ASCII);
  private static final Pattern HANDLE = Pattern.compile("enc=([^;]{1,128});mac=([^;]{1,128})");

  private final KmipClient client;
  private final String endpoint;
  private final SecureRandom random = new SecureRandom();

  KmipKeyProvider(KmipClient client, String endpoint) {
    this.client = client;
    this.endpoint = endpoint;
  }

  /**
   * Prepares the TLS context; does not connect (a remote KMS that is down must not stop local
   * keys from working). The first use connects.
   *
   * @throws KmsConfigurationException unreadable or invalid PEM files
   */
  public static KmipKeyProvider open(KmipConfig config) throws KmsException {
    for (Path f : List.of(config.caFile(), config.certFile(), config.keyFile())) {
      if (!Files.isReadable(f)) {
        throw new KmsConfigurationException("KMIP TLS file " + f + " does not exist or is unreadable");
      }
    }
    SSLContext tls = TlsContexts.clientContext(config.caFile(), config.certFile(), config.keyFile());
    return new KmipKeyProvider(new KmipClient(config, tls), config.host() + ":" + config.port());
  }

  @Override
  public String scheme() {
    return SCHEME;
  }

  @Override
  public String createKeyMaterial(UUID keyId, int version) throws KmsException {
    String name = "coffer-" + keyId + "-v" + version;
    List<String> created = new ArrayList<>();
    List<String> active = new ArrayList<>();
    try {
      String enc = create(name + "-enc", Kmip.USAGE_ENCRYPT | Kmip.USAGE_DECRYPT);
      created.add(enc);
      activate(enc);
      active.add(enc);
      String mac = create(name + "-mac", Kmip.USAGE_MAC_GENERATE);
      created.add(mac);
      activate(mac);
      active.add(mac);
      LOG.info("KMIP {}: created {} as enc={} mac={}", endpoint, name, enc, mac);
      return "enc=" + enc + ";mac=" + mac;
    } catch (KmsException e) {
      for (String uid : created) {
        try {
          retire(uid, active.contains(uid));
        } catch (KmsException cleanup) {
          e.addSuppressed(cleanup);
        }
      }
      throw e;
    }
  }

  @Override
  public byte[] encrypt(ProviderKeyRef ref, byte[] plaintext, byte[] aad) throws KmsException {
    String[] uids = parseHandle(ref);
    byte[] iv = new byte[IV_BYTES];
    random.nextBytes(iv);
    Ttlv response = call(Kmip.OP_ENCRYPT, Ttlv.structure(Kmip.REQUEST_PAYLOAD,
        Ttlv.text(Kmip.UNIQUE_IDENTIFIER, uids[0]),
        cbcParameters(),
        Ttlv.bytes(Kmip.DATA, plaintext),
        Ttlv.bytes(Kmip.IV_COUNTER_NONCE, iv)), true, ref);
    byte[] ct = bytes(response, Kmip.DATA);
    Ttlv returnedIv = child(response, Kmip.IV_COUNTER_NONCE);
    if (returnedIv != null && !Arrays.equals(bytesOf(returnedIv), iv)) {
      throw new KmsInternalException("KMIP server used another IV than the one requested");
    }
    if (ct.length == 0 || ct.length % 16 != 0 || ct.length > 1024) {
      throw new KmsInternalException("KMIP server returned " + ct.length + " bytes of CBC ciphertext");
    }
    byte[] tag = mac(uids[1], macInput(aad, iv, ct), ref);
    return ByteBuffer.allocate(IV_BYTES + ct.length + TAG_BYTES).put(iv).put(ct).put(tag).array();
  }

  @Override
  public byte[] decrypt(ProviderKeyRef ref, byte[] ciphertext, byte[] aad) throws KmsException {
    int ctLength = ciphertext.length - IV_BYTES - TAG_BYTES;
    if (ctLength < 16 || ctLength % 16 != 0) {
      throw new InvalidCiphertextException("kmip ciphertext has an impossible length " + ciphertext.length);
    }
    String[] uids = parseHandle(ref);
    byte[] iv = Arrays.copyOfRange(ciphertext, 0, IV_BYTES);
    byte[] ct = Arrays.copyOfRange(ciphertext, IV_BYTES, IV_BYTES + ctLength);
    byte[] tag = Arrays.copyOfRange(ciphertext, IV_BYTES + ctLength, ciphertext.length);
    byte[] expected = mac(uids[1], macInput(aad, iv, ct), ref);
    if (!MessageDigest.isEqual(expected, tag)) {
      throw new InvalidCiphertextException("wrapped key failed authentication (tampered, wrong encryption context, or another key)");
    }
    try {
      Ttlv response = client.call(Kmip.OP_DECRYPT, Ttlv.structure(Kmip.REQUEST_PAYLOAD,
          Ttlv.text(Kmip.UNIQUE_IDENTIFIER, uids[0]),
          cbcParameters(),
          Ttlv.bytes(Kmip.DATA, ct),
          Ttlv.bytes(Kmip.IV_COUNTER_NONCE, iv)), true);
      return bytes(response, Kmip.DATA);
    } catch (KmipResultException e) {
      if (e.reason() == Kmip.REASON_CRYPTOGRAPHIC_FAILURE) {
        // Cannot happen for an authentic ciphertext; refuse like any other forgery.
        throw new InvalidCiphertextException("KMIP server could not decrypt an authenticated wrapped key", e);
      }
      throw map(e, ref);
    }
  }

  @Override
  public void destroyKeyMaterial(ProviderKeyRef ref) throws KmsException {
    for (String uid : parseHandle(ref)) {
      retire(uid, true);
    }
    LOG.info("KMIP {}: destroyed key {} v{}", endpoint, ref.keyId(), ref.version());
  }

  @Override
  public void close() {
    client.close();
  }

  // ---------------------------------------------------------------- operations

  private String create(String name, int usageMask) throws KmsException {
    Ttlv payload = Ttlv.structure(Kmip.REQUEST_PAYLOAD,
        Ttlv.enumeration(Kmip.OBJECT_TYPE, Kmip.OBJECT_TYPE_SYMMETRIC_KEY),
        Ttlv.structure(Kmip.TEMPLATE_ATTRIBUTE,
            attribute("Cryptographic Algorithm", Ttlv.enumeration(Kmip.ATTRIBUTE_VALUE, Kmip.ALG_AES)),
            attribute("Cryptographic Length", Ttlv.integer(Kmip.ATTRIBUTE_VALUE, 256)),
            attribute("Cryptographic Usage Mask", Ttlv.integer(Kmip.ATTRIBUTE_VALUE, usageMask)),
            attribute("Name", Ttlv.structure(Kmip.ATTRIBUTE_VALUE,
                Ttlv.text(Kmip.NAME_VALUE, name),
                Ttlv.enumeration(Kmip.NAME_TYPE, Kmip.NAME_TYPE_TEXT)))));
    try {
      Ttlv response = client.call(Kmip.OP_CREATE, payload, true);
      String uid = text(response, Kmip.UNIQUE_IDENTIFIER);
      if (uid.isEmpty() || uid.length() > 128 || uid.contains(";")) {
        throw new KmsInternalException("KMIP server returned an unusable unique identifier");
      }
      return uid;
    } catch (KmipResultException e) {
      throw map(e, null);
    }
  }

  private void activate(String uid) throws KmsException {
    try {
      client.call(Kmip.OP_ACTIVATE, Ttlv.structure(Kmip.REQUEST_PAYLOAD, Ttlv.text(Kmip.UNIQUE_IDENTIFIER, uid)), false);
    } catch (KmipResultException e) {
      throw map(e, null);
    }
  }

  /** Revokes (if active) and destroys one object; an object already gone is not an error. */
  private void retire(String uid, boolean revokeFirst) throws KmsException {
    try {
      if (revokeFirst) {
        try {
          client.call(Kmip.OP_REVOKE, Ttlv.structure(Kmip.REQUEST_PAYLOAD,
              Ttlv.text(Kmip.UNIQUE_IDENTIFIER, uid),
              Ttlv.structure(Kmip.REVOCATION_REASON,
                  Ttlv.enumeration(Kmip.REVOCATION_REASON_CODE, Kmip.REVOKE_CESSATION_OF_OPERATION))), false);
        } catch (KmipResultException e) {
          // Not active any more (revoked by an earlier, interrupted deletion): go on to Destroy.
          if (e.reason() != Kmip.REASON_ILLEGAL_OPERATION && e.reason() != Kmip.REASON_PERMISSION_DENIED) {
            throw e;
          }
        }
      }
      client.call(Kmip.OP_DESTROY, Ttlv.structure(Kmip.REQUEST_PAYLOAD, Ttlv.text(Kmip.UNIQUE_IDENTIFIER, uid)), false);
    } catch (KmipResultException e) {
      if (e.reason() == Kmip.REASON_ITEM_NOT_FOUND) {
        return;
      }
      throw map(e, null);
    }
  }

  private byte[] mac(String uid, byte[] data, ProviderKeyRef ref) throws KmsException {
    Ttlv response = call(Kmip.OP_MAC, Ttlv.structure(Kmip.REQUEST_PAYLOAD,
        Ttlv.text(Kmip.UNIQUE_IDENTIFIER, uid),
        Ttlv.structure(Kmip.CRYPTOGRAPHIC_PARAMETERS,
            Ttlv.enumeration(Kmip.CRYPTOGRAPHIC_ALGORITHM, Kmip.ALG_HMAC_SHA256)),
        Ttlv.bytes(Kmip.DATA, data)), true, ref);
    byte[] tag = bytes(response, Kmip.MAC_DATA);
    if (tag.length != TAG_BYTES) {
      throw new KmsInternalException("KMIP server returned a " + tag.length + "-byte MAC, expected " + TAG_BYTES);
    }
    return tag;
  }

  private Ttlv call(int operation, Ttlv payload, boolean idempotent, ProviderKeyRef ref) throws KmsException {
    try {
      return client.call(operation, payload, idempotent);
    } catch (KmipResultException e) {
      throw map(e, ref);
    }
  }

  private static Ttlv cbcParameters() {
    return Ttlv.structure(Kmip.CRYPTOGRAPHIC_PARAMETERS,
        Ttlv.enumeration(Kmip.BLOCK_CIPHER_MODE, Kmip.MODE_CBC),
        Ttlv.enumeration(Kmip.PADDING_METHOD, Kmip.PADDING_PKCS5),
        Ttlv.enumeration(Kmip.CRYPTOGRAPHIC_ALGORITHM, Kmip.ALG_AES));
  }

  private static Ttlv attribute(String name, Ttlv value) {
    return Ttlv.structure(Kmip.ATTRIBUTE, Ttlv.text(Kmip.ATTRIBUTE_NAME, name), value);
  }

  static byte[] macInput(byte[] aad, byte[] iv, byte[] ct) {
    return ByteBuffer.allocate(MAC_LABEL.length + 4 + aad.length + iv.length + ct.length)
        .put(MAC_LABEL).putInt(aad.length).put(aad).put(iv).put(ct).array();
  }

  private static String[] parseHandle(ProviderKeyRef ref) throws KmsInternalException {
    Matcher m = HANDLE.matcher(ref.handle());
    if (!m.matches()) {
      throw new KmsInternalException("catalog handle for key " + ref.keyId() + " v" + ref.version() + " is not a KMIP handle");
    }
    return new String[] {m.group(1), m.group(2)};
  }

  private KmsException map(KmipResultException e, ProviderKeyRef ref) {
    String what = ref == null ? "" : " (key " + ref.keyId() + " v" + ref.version() + ")";
    return switch (e.reason()) {
      case Kmip.REASON_ITEM_NOT_FOUND -> new NotFoundException("KMIP server " + endpoint + " has no such object" + what, e);
      case Kmip.REASON_PERMISSION_DENIED, Kmip.REASON_AUTHENTICATION_NOT_SUCCESSFUL ->
          new KmsAccessDeniedException("KMIP server " + endpoint + " refused" + what + ": " + e.getMessage(), e);
      default -> new KmsInternalException("KMIP server " + endpoint + " failed" + what + ": " + e.getMessage(), e);
    };
  }

  private static Ttlv child(Ttlv payload, int tag) throws KmsInternalException {
    try {
      return payload == null ? null : payload.child(tag);
    } catch (TtlvException e) {
      throw new KmsInternalException("malformed KMIP response: " + e.getMessage());
    }
  }

  private static byte[] bytes(Ttlv payload, int tag) throws KmsInternalException {
    Ttlv c = child(payload, tag);
    if (c == null) {
      throw new KmsInternalException("KMIP response lacks " + Ttlv.hex(tag));
    }
    return bytesOf(c);
  }

  private static byte[] bytesOf(Ttlv item) throws KmsInternalException {
    try {
      return item.bytesValue();
    } catch (TtlvException e) {
      throw new KmsInternalException("malformed KMIP response: " + e.getMessage());
    }
  }

  private static String text(Ttlv payload, int tag) throws KmsInternalException {
    Ttlv c = child(payload, tag);
    try {
      if (c == null) {
        throw new KmsInternalException("KMIP response lacks " + Ttlv.hex(tag));
      }
      return c.textValue();
    } catch (TtlvException e) {
      throw new KmsInternalException("malformed KMIP response: " + e.getMessage());
    }
  }

  @Override
  public String toString() {
    return "KmipKeyProvider[" + endpoint + "]";
  }
}
