package io.coffer.kms;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Many threads wrap and unwrap while an admin rotates and manages aliases. */
class LocalConcurrencyTest {
  @TempDir Path tmp;

  @Test
  void cryptoCallsStayCorrectDuringManagement() throws Exception {
    try (Kms kms = Kms.builder().keystoreDir(tmp.resolve("kms")).auditFsync(false).build()) {
      String key = kms.createKey(CreateKeyRequest.of("busy"), "admin").keyId().toString();
      ExecutorService pool = Executors.newFixedThreadPool(8);
      AtomicBoolean stop = new AtomicBoolean();
      try {
        Future<Integer> rotations = pool.submit(() -> {
          int n = 0;
          while (!stop.get() && n < 40) {
            kms.rotateKey(key, "admin");
            kms.createAlias("alias/a" + n, key, "admin");
            n++;
          }
          return n;
        });
        List<Future<Integer>> workers = new ArrayList<>();
        for (int t = 0; t < 6; t++) {
          int thread = t;
          workers.add(pool.submit(() -> {
            for (int i = 0; i < 150; i++) {
              Map<String, String> ctx = Map.of("t", Integer.toString(thread), "i", Integer.toString(i));
              try (DataKey dk = kms.generateDataKey(key, ctx, "fs"); DataKey back = kms.decrypt(dk.wrapped(), ctx, "fs")) {
                assertArrayEquals(dk.plaintext(), back.plaintext());
                assertEquals(dk.keyVersion(), back.keyVersion());
              }
            }
            return 150;
          }));
        }
        for (Future<Integer> w : workers) {
          assertEquals(150, w.get(60, TimeUnit.SECONDS));
        }
        stop.set(true);
        int n = rotations.get(60, TimeUnit.SECONDS);
        KeyMetadata m = kms.describeKey(key);
        assertEquals(n + 1, m.currentVersion());
        assertEquals(n, m.aliases().size());
        assertTrue(n > 0);
      } finally {
        pool.shutdownNow();
      }
    }
  }
}
