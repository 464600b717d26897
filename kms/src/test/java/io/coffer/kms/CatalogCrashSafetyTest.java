package io.coffer.kms;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.kms.local.AtomicFiles;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The keystore survives crashes: nothing acknowledged is lost, nothing torn is read. */
class CatalogCrashSafetyTest {
  @TempDir Path tmp;

  @Test
  void killedMidWriteLosesNothingAcknowledged() throws Exception {
    Path ks = tmp.resolve("kms");
    Map<UUID, String> wrappedByKey = new HashMap<>();
    Map<UUID, Integer> contextByKey = new HashMap<>();
    Map<UUID, Integer> minVersion = new HashMap<>();
    Random random = new Random();
    for (int round = 0; round < 3; round++) {
      int killAfter = 4 + random.nextInt(20);
      Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"), CrashChild.class.getName(), ks.toString())
          .redirectError(tmp.resolve("child-" + round + ".err").toFile())
          .start();
      List<String> acknowledged = new ArrayList<>();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          acknowledged.add(line);
          if (acknowledged.size() == killAfter) {
            // SIGKILL, likely in the middle of the next write. Not Process.destroyForcibly(): it
            // also closes our end of the pipe, and the lines already sent would be lost.
            new ProcessBuilder("kill", "-KILL", Long.toString(child.pid())).start().waitFor();
          }
        }
      }
      assertTrue(child.waitFor(30, TimeUnit.SECONDS));
      assertTrue(acknowledged.size() >= killAfter,
          "child died early: " + Files.readString(tmp.resolve("child-" + round + ".err")));
      for (String line : acknowledged) {
        String[] f = line.split(" ");
        if (f[0].equals("KEY") && f.length == 4) {
          UUID id = UUID.fromString(f[1]);
          wrappedByKey.put(id, f[3]);
          contextByKey.put(id, Integer.parseInt(f[2]));
        } else if (f[0].equals("ROT") && f.length == 3) {
          minVersion.merge(UUID.fromString(f[1]), Integer.parseInt(f[2]), Math::max);
        }
      }

      try (Kms kms = Kms.builder().keystoreDir(ks).build()) {
        for (Map.Entry<UUID, String> e : wrappedByKey.entrySet()) {
          KeyMetadata k = kms.describeKey(e.getKey().toString());
          assertTrue(k.currentVersion() >= minVersion.getOrDefault(e.getKey(), 1), "rotation lost for " + k);
          for (int v : k.versions()) {
            assertTrue(Files.exists(ks.resolve("local").resolve(e.getKey().toString()).resolve("v" + v + ".key")));
          }
          try (DataKey dk = kms.decrypt(Base64.getDecoder().decode(e.getValue()),
              Map.of("i", contextByKey.get(e.getKey()).toString()), "verifier")) {
            assertEquals(32, dk.plaintext().length);
          }
        }
      }
    }
    try (Stream<Path> files = Files.list(ks)) {
      assertTrue(files.noneMatch(p -> p.getFileName().toString().startsWith(".tmp-")), "leftovers were cleaned");
    }
  }

  @Test
  void aTemporaryFileLeftByACrashIsIgnoredAndRemoved() throws Exception {
    Path ks = tmp.resolve("kms");
    String keyId;
    try (Kms kms = Kms.builder().keystoreDir(ks).build()) {
      keyId = kms.createKey(CreateKeyRequest.of("k"), "admin").keyId().toString();
    }
    Path torn = ks.resolve(".tmp-catalog.json-0123456789abcdef");
    Files.writeString(torn, "{\"format\":1,\"keys\":[{\"keyId\":");
    try (Kms kms = Kms.builder().keystoreDir(ks).build()) {
      assertEquals(keyId, kms.describeKey(keyId).keyId().toString());
    }
    assertTrue(Files.notExists(torn));
  }

  @Test
  void aCorruptCatalogStopsTheKmsInsteadOfStartingEmpty() throws Exception {
    Path ks = tmp.resolve("kms");
    try (Kms kms = Kms.builder().keystoreDir(ks).build()) {
      kms.createKey(CreateKeyRequest.of("k"), "admin");
    }
    Path catalog = ks.resolve("catalog.json");
    byte[] full = Files.readAllBytes(catalog);
    Files.write(catalog, java.util.Arrays.copyOf(full, full.length / 2));
    KmsConfigurationException e = assertThrows(KmsConfigurationException.class, () -> Kms.builder().keystoreDir(ks).build());
    assertTrue(e.getMessage().contains("catalog"), e.getMessage());
  }

  @Test
  void atomicWriteReplacesWholeFilesOwnerOnly() throws Exception {
    Path f = tmp.resolve("file");
    AtomicFiles.write(f, "first".getBytes(StandardCharsets.UTF_8));
    AtomicFiles.write(f, "second".getBytes(StandardCharsets.UTF_8));
    assertArrayEquals("second".getBytes(StandardCharsets.UTF_8), Files.readAllBytes(f));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
    try (Stream<Path> files = Files.list(tmp)) {
      assertEquals(List.of(f), files.toList());
    }
  }

  @Test
  void theKeystoreCannotBeOpenedTwice() throws Exception {
    Path ks = tmp.resolve("kms");
    try (Kms kms = Kms.builder().keystoreDir(ks).build()) {
      KmsConfigurationException e = assertThrows(KmsConfigurationException.class, () -> Kms.builder().keystoreDir(ks).build());
      assertTrue(e.getMessage().contains("in use"), e.getMessage());
      kms.defaultKey();
    }
    try (Kms again = Kms.builder().keystoreDir(ks).build()) {
      again.defaultKey();
    }
  }
}
