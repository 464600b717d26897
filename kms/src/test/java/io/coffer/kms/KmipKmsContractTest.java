package io.coffer.kms;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The contract against a real pykmip-server, started for this class and stopped after it. */
class KmipKmsContractTest extends KmsContractTest {
  static PyKmipServer server;
  static Path serverDir;

  @BeforeAll
  static void startServer() throws Exception {
    serverDir = Files.createTempDirectory("coffer-pykmip");
    server = PyKmipServer.start(serverDir);
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (server != null) {
      server.close();
    }
    TestFiles.deleteRecursively(serverDir);
  }

  @Override
  String provider() {
    return "kmip";
  }

  @Override
  KmsBuilder withProvider(KmsBuilder b) {
    return b.kmip(server.clientConfig().build());
  }

  /** Several threads share the client's connection pool against the real server. */
  @Test
  void concurrentUseSharesConnectionsSafely() throws Exception {
    String key = newKey().keyId().toString();
    ExecutorService pool = Executors.newFixedThreadPool(6);
    try {
      List<Future<Integer>> futures = new ArrayList<>();
      for (int t = 0; t < 6; t++) {
        int thread = t;
        futures.add(pool.submit(() -> {
          for (int i = 0; i < 8; i++) {
            Map<String, String> ctx = Map.of("t", Integer.toString(thread), "i", Integer.toString(i));
            try (DataKey dk = kms.generateDataKey(key, ctx, FS); DataKey back = kms.decrypt(dk.wrapped(), ctx, FS)) {
              assertArrayEquals(dk.plaintext(), back.plaintext());
            }
          }
          return 8;
        }));
      }
      for (Future<Integer> f : futures) {
        assertEquals(8, f.get(120, TimeUnit.SECONDS));
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
