package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file system whose data key is wrapped by a key in a real PKCS#11 token (a fresh SoftHSM2
 * token made by this test), end to end: {@code coffer server --kms pkcs11:...}, a key created
 * on the token with {@code coffer kms create-key --provider pkcs11}, a kernel mount, and a
 * server restart after which the data key is unwrapped by the token again.
 */
class AtRestPkcs11IT {
    private static final List<Path> LIBRARIES = List.of(Path.of("/usr/lib/softhsm/libsofthsm2.so"),
            Path.of("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"));
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path work;
    static Coffer coffer;
    static Path probe;

    @BeforeAll
    static void setUp() throws Exception {
        Coffer.requireFuse();
        coffer = new Coffer(work);
        probe = AtRest.installProbe(work);
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (coffer != null) {
            coffer.close();
        }
    }

    static Path library() {
        return LIBRARIES.stream().filter(Files::isReadable).findFirst()
                .orElseGet(() -> fail("libsofthsm2.so not found: apt-get install -y softhsm2 (this test does not skip)"));
    }

    /** A private SoftHSM2 configuration and token directory, and a token initialised in it. */
    static Path softHsmConf() throws Exception {
        if (!Files.isExecutable(Path.of("/usr/bin/softhsm2-util"))) {
            fail("softhsm2-util not found: apt-get install -y softhsm2 (this test does not skip)");
        }
        Path tokens = Files.createDirectories(work.resolve("softhsm/tokens"));
        Path conf = work.resolve("softhsm/softhsm2.conf");
        Files.writeString(conf, "directories.tokendir = " + tokens + "\nobjectstore.backend = file\n"
                + "log.level = ERROR\nslots.removable = false\n", StandardCharsets.UTF_8);
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/softhsm2-util", "--init-token", "--free", "--label",
                "coffer-it", "--pin", "4321", "--so-pin", "8765").redirectErrorStream(true);
        pb.environment().put("SOFTHSM2_CONF", conf.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            fail("softhsm2-util --init-token failed: " + out);
        }
        return conf;
    }

    static JsonNode json(String s) throws Exception {
        return JSON.readTree(s);
    }

    @Test
    void aFileSystemUnderAnHsmKeyThroughAMountAndARestart() throws Exception {
        Path conf = softHsmConf();
        Path pin = work.resolve("hsm.pin");
        Files.writeString(pin, "4321\n");
        Files.setPosixFilePermissions(pin, PosixFilePermissions.fromString("rw-------"));
        try (EnvServer server = new EnvServer(work, Map.of("SOFTHSM2_CONF", conf.toString()), List.of(
                "--kms", "pkcs11:library=" + library() + ",slot-list-index=0,pin-file=" + pin,
                "--kms-default-provider", "pkcs11"))) {
            server.start();
            String s = server.address();
            JsonNode created = json(Coffer.coffer("kms", "create-key", "--server", s, "--provider", "pkcs11",
                    "--description", "on the token", "--json").ok().out());
            String key = created.get("keyId").asText();
            assertEquals("pkcs11", created.get("provider").asText());
            assertEquals("kms:pkcs11/" + key, created.get("keyUri").asText());

            String fs = Coffer.coffer("fs", "create", "--server", s, "--kms-key", "kms:pkcs11/" + key).ok().out().trim();
            // No --kms-key: the service-managed default key, which --kms-default-provider puts on the token.
            JsonNode def = json(Coffer.coffer("fs", "create", "--server", s, "--json").ok().out());
            assertTrue(def.get("encrypted").asBoolean());

            String opts = "addr=127.0.0.1,port=" + server.port;
            Path mnt = coffer.mount(fs, opts);
            byte[] data = new byte[3 * 65536 + 1234];
            new Random(7).nextBytes(data);
            AtRest.writeSynced(mnt.resolve("on-hsm.bin"), data);
            coffer.umount(mnt);

            // A new server process has only the wrapped key: the token must unwrap it again.
            server.stop();
            server.start();
            Path again = coffer.mount(fs, opts);
            String sha = AtRest.sha256(data);
            assertEquals("OK " + sha + " " + data.length, AtRest.pread(probe, again.resolve("on-hsm.bin"), 0, data.length));

            List<JsonNode> audit = AtRest.audit(server.dataDir);
            for (String op : List.of("GenerateDataKey", "Decrypt")) {
                assertTrue(audit.stream().anyMatch(e -> op.equals(e.path("operation").asText())
                        && key.equals(e.path("keyId").asText()) && "allowed".equals(e.path("outcome").asText())
                        && fs.equals(e.path("encryptionContext").path("coffer:fs-id").asText())),
                        op + " with the token's key is audited for " + fs);
            }
            String defaultKey = def.get("kmsKeyId").asText();
            assertTrue(audit.stream().anyMatch(e -> "CreateKey".equals(e.path("operation").asText())
                    && defaultKey.equals(e.path("keyId").asText())
                    && "SERVICE".equals(e.path("details").path("keyManager").asText())
                    && "pkcs11".equals(e.path("details").path("provider").asText())),
                    "the default key " + defaultKey + " was created on the token");
            // The key material lives on the token, not in the local keystore.
            assertTrue(Files.notExists(server.dataDir.resolve("kms/local/" + key)), "no local material for " + key);
            Coffer.Result slots = Coffer.run(Duration.ofSeconds(30), List.of("bash", "-c",
                    "SOFTHSM2_CONF=" + conf + " softhsm2-util --show-slots"));
            assertTrue(slots.out().contains("coffer-it"), slots.out());
            coffer.umount(again);
        }
    }
}
