package io.coffer.kms;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.coffer.kms.kmip.KmipConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A KMIP server that goes away: requests fail with the retryable {@link KmsUnavailableException}
 * after bounded retries (never a silent fallback), local keys keep working, and the same keys
 * work again once the server is back.
 */
class KmipOutageTest {
  static final Map<String, String> CTX = Map.of("fs", "fs-00000001");
  @TempDir Path tmp;

  @Test
  void serverDownMeansKmsUnavailableAndRecoveryWorks() throws Exception {
    try (PyKmipServer server = PyKmipServer.start(tmp.resolve("pykmip"))) {
      KmipConfig config = server.clientConfig().maxAttempts(3).initialBackoff(Duration.ofMillis(100))
          .connectTimeout(Duration.ofSeconds(2)).build();
      try (Kms kms = Kms.builder().keystoreDir(tmp.resolve("kms")).kmip(config).build()) {
        KeyMetadata remote = kms.createKey(CreateKeyRequest.of("remote", "kmip"), "admin");
        KeyMetadata local = kms.createKey(CreateKeyRequest.of("local"), "admin");
        byte[] wrapped;
        byte[] plain;
        try (DataKey dk = kms.generateDataKey(remote.keyId().toString(), CTX, "fs")) {
          wrapped = dk.wrapped();
          plain = dk.plaintext();
        }

        server.kill();
        long start = System.nanoTime();
        KmsUnavailableException e = assertThrows(KmsUnavailableException.class,
            () -> kms.generateDataKey(remote.keyId().toString(), CTX, "fs"));
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(e.isRetryable());
        assertTrue(e.getMessage().contains("3 attempt"), e.getMessage());
        // Two backoffs of at least 100 and 200 ms happened, and the whole thing stayed bounded.
        assertTrue(millis >= 300 && millis < 15_000, "took " + millis + " ms");
        assertThrows(KmsUnavailableException.class, () -> kms.decrypt(wrapped, CTX, "fs"));
        assertThrows(KmsUnavailableException.class, () -> kms.createKey(CreateKeyRequest.of("x", "kmip"), "admin"));
        try (DataKey dk = kms.generateDataKey(local.keyId().toString(), CTX, "fs")) {
          assertEquals(32, dk.plaintext().length);
        }
        List<JsonNode> refused = AuditLines.matching(tmp.resolve("kms/audit.log"),
            n -> n.path("errorCode").asText().equals("KmsUnavailable"));
        assertTrue(refused.size() >= 3, refused.toString());

        server.launch();
        try (DataKey back = kms.decrypt(wrapped, CTX, "fs")) {
          assertArrayEquals(plain, back.plaintext());
        }
      }
    }
  }

  @Test
  void nothingListeningFailsAfterBoundedRetries() throws Exception {
    TestPki pki = TestPki.create(tmp.resolve("pki"));
    KmipConfig config = KmipConfig.builder().host("127.0.0.1").port(PyKmipServer.freePort())
        .caFile(pki.ca).certFile(pki.clientCert).keyFile(pki.clientKey)
        .maxAttempts(2).initialBackoff(Duration.ofMillis(10)).build();
    try (Kms kms = Kms.builder().keystoreDir(tmp.resolve("kms")).kmip(config).build()) {
      KmsUnavailableException e = assertThrows(KmsUnavailableException.class,
          () -> kms.createKey(CreateKeyRequest.of("x", "kmip"), "admin"));
      assertTrue(e.getMessage().contains("127.0.0.1"), e.getMessage());
      assertTrue(kms.listKeys().isEmpty(), "a failed create leaves no key behind");
    }
  }

  @Test
  void serverWithAnUntrustedCertificateIsRefused() throws Exception {
    try (PyKmipServer server = PyKmipServer.start(tmp.resolve("pykmip"))) {
      TestPki other = TestPki.create(tmp.resolve("other-pki"));
      KmipConfig config = server.clientConfig().caFile(other.ca).maxAttempts(1).build();
      try (Kms kms = Kms.builder().keystoreDir(tmp.resolve("kms")).kmip(config).build()) {
        KmsUnavailableException e = assertThrows(KmsUnavailableException.class,
            () -> kms.createKey(CreateKeyRequest.of("x", "kmip"), "admin"));
        assertTrue(e.getCause() instanceof javax.net.ssl.SSLException, String.valueOf(e.getCause()));
      }
      // PyKMIP waits on the session of the failed handshake before a clean exit; not under test here.
      server.kill();
    }
  }
}
