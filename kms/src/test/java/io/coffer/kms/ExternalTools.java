package io.coffer.kms;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the real programs the provider tests run against, failing loudly when one is missing. */
final class ExternalTools {
  private ExternalTools() {}

  /** The program's path; fails the test, naming the Debian package, if it is not installed. */
  static Path require(String program, String debianPackage) {
    String path = System.getenv("PATH");
    for (String dir : (path == null ? "/usr/bin:/usr/sbin" : path + ":/usr/sbin:/sbin").split(File.pathSeparator)) {
      Path p = Path.of(dir, program);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return fail(program + " is not installed: install the Debian package " + debianPackage
        + " (apt-get install -y " + debianPackage + "); this test does not skip");
  }
}
