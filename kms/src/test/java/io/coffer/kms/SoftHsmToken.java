package io.coffer.kms;

import static org.junit.jupiter.api.Assertions.fail;

import io.coffer.kms.pkcs11.Pkcs11Config;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One fresh SoftHSM2 token per test JVM. The SoftHSM library reads {@code SOFTHSM2_CONF} from
 * the process environment when SunPKCS11 first initialises it, so the kms pom sets that variable
 * for the surefire JVM to {@code target/softhsm/softhsm2.conf}; this class writes that file, a
 * private token directory beside it, and initialises the token before any provider loads the
 * library. SoftHSM only sees tokens that exist when it initialises, hence one token per JVM.
 */
public final class SoftHsmToken {
  public static final String LABEL = "coffer-test";
  public static final String PIN = "1234";
  private static final String SO_PIN = "5678";
  private static final List<Path> LIBRARIES = List.of(
      Path.of("/usr/lib/softhsm/libsofthsm2.so"), Path.of("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"));
  private static Path library;

  private SoftHsmToken() {}

  /** Creates the token on first call; returns a config for it. */
  public static synchronized Pkcs11Config config() {
    if (library == null) {
      library = initialise();
    }
    return Pkcs11Config.builder().library(library).slotListIndex(0).pin(PIN.toCharArray()).build();
  }

  private static Path initialise() {
    Path util = ExternalTools.require("softhsm2-util", "softhsm2");
    Path lib = LIBRARIES.stream().filter(Files::isReadable).findFirst()
        .orElseGet(() -> fail("libsofthsm2.so not found: install the Debian package softhsm2"));
    String conf = System.getenv("SOFTHSM2_CONF");
    if (conf == null || conf.isBlank()) {
      fail("SOFTHSM2_CONF is not set for this JVM: run the tests through Maven (kms/pom.xml sets it for surefire)");
    }
    Path confFile = Path.of(conf);
    Path tokens = confFile.resolveSibling("tokens");
    try {
      if (Files.exists(tokens)) {
        try (Stream<Path> s = Files.walk(tokens)) {
          s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      }
      Files.createDirectories(tokens);
      Files.writeString(confFile, "directories.tokendir = " + tokens.toAbsolutePath() + "\n"
          + "objectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", StandardCharsets.UTF_8);
      ProcessBuilder pb = new ProcessBuilder(util.toString(), "--init-token", "--free", "--label", LABEL,
          "--pin", PIN, "--so-pin", SO_PIN).redirectErrorStream(true);
      pb.environment().put("SOFTHSM2_CONF", confFile.toAbsolutePath().toString());
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        fail("softhsm2-util --init-token failed: " + out);
      }
      return lib;
    } catch (IOException e) {
      return fail("cannot prepare the SoftHSM token directory: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return fail("interrupted");
    }
  }
}
