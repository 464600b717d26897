package io.coffer.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.kms.Kms;
import io.coffer.server.crypto.KmsSetup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine.TypeConversionException;

/** The {@code --kms} syntax of {@code coffer server} and the durations it takes. */
class KmsOptionsTest {
    @TempDir
    Path dir;

    private static KmsSetup parse(List<String> specs) throws Exception {
        return KmsOptions.parse(specs, null, null, Duration.ofMinutes(5), Duration.ofHours(1));
    }

    private Path secret(String name, String content, String perms) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, content);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(perms));
        return f;
    }

    @Test
    void localIsTheDefaultAndNoneTurnsTheKmsOff() throws Exception {
        KmsSetup local = parse(List.of());
        assertNotNull(local);
        assertEquals(Duration.ofMinutes(5), local.keyCacheTtl());
        try (Kms kms = local.opener().open(dir)) {
            assertTrue(Files.exists(dir.resolve("kms/root.key")));
            assertEquals(Set.of(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                    java.nio.file.attribute.PosixFilePermission.OWNER_WRITE),
                    Files.getPosixFilePermissions(dir.resolve("kms/root.key")), "root.key is created 0600");
            assertEquals("local", kms.defaultKey().provider());
        }
        assertNotNull(parse(List.of("local")));
        assertNull(parse(List.of("none")));
        assertThrows(IllegalArgumentException.class, () -> parse(List.of("none", "local")));
        assertThrows(IllegalArgumentException.class, () -> parse(List.of("vault:addr=x")));
    }

    @Test
    void aPassphraseFileReplacesTheRootKeyFile() throws Exception {
        Path pass = secret("pass", "correct horse battery staple\n", "rw-------");
        KmsSetup s = KmsOptions.parse(List.of(), pass, null, Duration.ofMinutes(5), Duration.ofHours(1));
        try (Kms kms = s.opener().open(dir)) {
            kms.defaultKey();
        }
        assertTrue(Files.exists(dir.resolve("kms/root-kdf.json")));
        assertTrue(Files.notExists(dir.resolve("kms/root.key")));
        Path open = secret("open", "x\n", "rw-r--r--");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KmsOptions.parse(List.of(), open, null, Duration.ofMinutes(5), Duration.ofHours(1)));
        assertTrue(e.getMessage().contains("chmod 600"), e.getMessage());
    }

    @Test
    void pkcs11AndKmipSpecsAreCheckedAtStart() throws Exception {
        Path pin = secret("pin", "1234\n", "rw-------");
        IllegalArgumentException noLib = assertThrows(IllegalArgumentException.class,
                () -> parse(List.of("pkcs11:library=/nonexistent.so,pin-file=" + pin)));
        assertTrue(noLib.getMessage().contains("/nonexistent.so"), noLib.getMessage());
        Path lib = secret("lib.so", "", "rw-------");
        assertNotNull(parse(List.of("pkcs11:library=" + lib + ",slot-list-index=0,pin-file=" + pin)));
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> parse(List.of("pkcs11:library=" + lib + ",pin=1234")));
        assertTrue(unknown.getMessage().contains("'pin'"), unknown.getMessage());
        assertThrows(IllegalArgumentException.class, () -> parse(List.of("pkcs11:library=" + lib)));
        assertThrows(IllegalArgumentException.class,
                () -> parse(List.of("pkcs11:library=" + lib + ",slot-list-index=x,pin-file=" + pin)));

        Path ca = secret("ca.pem", "-", "rw-------");
        assertNotNull(parse(List.of("kmip:host=kms.example,port=5696,ca=" + ca + ",cert=" + ca + ",key=" + ca)));
        assertThrows(IllegalArgumentException.class, () -> parse(List.of("kmip:host=kms.example,ca=" + ca)));
        assertThrows(IllegalArgumentException.class,
                () -> parse(List.of("kmip:host=h,port=70000,ca=" + ca + ",cert=" + ca + ",key=" + ca)));
        assertThrows(IllegalArgumentException.class, () -> KmsOptions.parse(List.of(), null, "pkcs11",
                Duration.ofMinutes(5), Duration.ofHours(1)));
    }

    @Test
    void durations() {
        assertEquals(Duration.ofMillis(500), DurationConverter.parse("500ms"));
        assertEquals(Duration.ofSeconds(2), DurationConverter.parse("2s"));
        assertEquals(Duration.ofMinutes(5), DurationConverter.parse("5m"));
        assertEquals(Duration.ofHours(1), DurationConverter.parse("1h"));
        assertEquals(Duration.ofDays(1), DurationConverter.parse("1d"));
        assertEquals(Duration.ofMinutes(5), DurationConverter.parse("PT5M"));
        assertThrows(TypeConversionException.class, () -> DurationConverter.parse("soon"));
    }
}
