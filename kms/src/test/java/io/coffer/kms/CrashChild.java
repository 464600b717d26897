package io.coffer.kms;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Run in a child JVM by {@link CatalogCrashSafetyTest} and killed with SIGKILL at a random
 * moment. It prints a line only after the KMS has returned, i.e. after the change was
 * acknowledged: "KEY id wrapped" for a created key and a data key wrapped under it, "ROT id
 * version" for a rotation.
 */
public final class CrashChild {
  private CrashChild() {}

  public static void main(String[] args) throws Exception {
    PrintStream out = System.out;
    List<UUID> keys = new ArrayList<>();
    try (Kms kms = Kms.builder().keystoreDir(Path.of(args[0])).build()) {
      for (int i = 0; i < 400; i++) {
        KeyMetadata k = kms.createKey(CreateKeyRequest.of("crash " + i), "crash-test");
        keys.add(k.keyId());
        try (DataKey dk = kms.generateDataKey(k.keyId().toString(), Map.of("i", Integer.toString(i)), "crash-test")) {
          out.println("KEY " + k.keyId() + " " + i + " " + Base64.getEncoder().encodeToString(dk.wrapped()));
          out.flush();
        }
        if (i % 2 == 1) {
          UUID older = keys.get(i / 2);
          KeyMetadata r = kms.rotateKey(older.toString(), "crash-test");
          out.println("ROT " + older + " " + r.currentVersion());
          out.flush();
        }
      }
    }
  }
}
