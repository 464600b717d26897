package io.coffer.cli;

import io.coffer.kms.Kms;
import io.coffer.kms.KmsBuilder;
import io.coffer.kms.kmip.KmipConfig;
import io.coffer.kms.local.RootKeySource;
import io.coffer.kms.pkcs11.Pkcs11Config;
import io.coffer.server.crypto.KmsSetup;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns the {@code --kms} options of {@code coffer server} into a {@link KmsSetup}. The syntax
 * (docs/operations.md):
 *
 * <pre>
 *   --kms local                        the embedded keystore in DATA-DIR/kms (the default)
 *   --kms none                         no KMS: only --no-encrypted file systems can be created
 *   --kms pkcs11:library=PATH,pin-file=FILE[,slot-list-index=N]
 *   --kms kmip:host=HOST,ca=FILE,cert=FILE,key=FILE[,port=N]
 * </pre>
 *
 * {@code --kms} may be repeated to register several providers; the local one is always there.
 * Secrets (the PKCS#11 PIN, the keystore passphrase) are read from files, never from the command
 * line, where every user could read them in the process list.
 */
final class KmsOptions {
    private KmsOptions() {
    }

    /** The setup for these options, or null for {@code --kms none}. Files are read now, so mistakes fail at start. */
    static KmsSetup parse(List<String> specs, Path passphraseFile, String defaultProvider, Duration keyCacheTtl,
            Duration maintenanceInterval) throws IOException {
        boolean none = false;
        Pkcs11Config pkcs11 = null;
        KmipConfig kmip = null;
        for (String spec : specs) {
            String s = spec.trim();
            if (s.equals("none")) {
                none = true;
            } else if (s.equals("local")) {
                continue;
            } else if (s.startsWith("pkcs11:")) {
                if (pkcs11 != null) {
                    throw new IllegalArgumentException("--kms pkcs11: given twice; one PKCS#11 token per server");
                }
                pkcs11 = pkcs11(params(s, "pkcs11:", Set.of("library", "slot-list-index", "pin-file")));
            } else if (s.startsWith("kmip:")) {
                if (kmip != null) {
                    throw new IllegalArgumentException("--kms kmip: given twice; one KMIP server per server");
                }
                kmip = kmip(params(s, "kmip:", Set.of("host", "port", "ca", "cert", "key")));
            } else {
                throw new IllegalArgumentException("--kms " + spec + ": expected local, none, pkcs11:library=...,pin-file=... "
                        + "or kmip:host=...,ca=...,cert=...,key=... (see docs/operations.md)");
            }
        }
        if (none) {
            if (specs.size() > 1 || passphraseFile != null || defaultProvider != null) {
                throw new IllegalArgumentException("--kms none excludes every other KMS option");
            }
            return null;
        }
        if (defaultProvider != null && !List.of("local", "pkcs11", "kmip").contains(defaultProvider)) {
            throw new IllegalArgumentException("--kms-default-provider must be local, pkcs11 or kmip, not " + defaultProvider);
        }
        if ("pkcs11".equals(defaultProvider) && pkcs11 == null || "kmip".equals(defaultProvider) && kmip == null) {
            throw new IllegalArgumentException("--kms-default-provider " + defaultProvider + " needs --kms " + defaultProvider
                    + ":...");
        }
        char[] passphrase = passphraseFile == null ? null : readSecret(passphraseFile, "--kms-passphrase-file");
        RootKeySource root = null;
        if (passphrase != null) {
            try {
                root = RootKeySource.passphrase(passphrase);
            } finally {
                Arrays.fill(passphrase, '\0');
            }
        }
        final RootKeySource rootKey = root;
        final Pkcs11Config p11 = pkcs11;
        final KmipConfig kmipConfig = kmip;
        KmsSetup.Opener opener = dataDir -> {
            KmsBuilder b = Kms.builder().keystoreDir(dataDir.resolve("kms"));
            if (rootKey != null) {
                b.rootKey(rootKey);
            }
            if (p11 != null) {
                b.pkcs11(p11);
            }
            if (kmipConfig != null) {
                b.kmip(kmipConfig);
            }
            if (defaultProvider != null) {
                b.defaultKeyProvider(defaultProvider);
            }
            return b.build();
        };
        return new KmsSetup(opener, keyCacheTtl, maintenanceInterval);
    }

    /** {@code key=value} pairs after the scheme, comma-separated; unknown or repeated keys are refused. */
    static Map<String, String> params(String spec, String prefix, Set<String> allowed) {
        Map<String, String> m = new LinkedHashMap<>();
        String rest = spec.substring(prefix.length());
        for (String part : rest.split(",")) {
            if (part.isBlank()) {
                continue;
            }
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--kms " + spec + ": '" + part + "' is not key=value");
            }
            String k = part.substring(0, eq).trim();
            if (!allowed.contains(k)) {
                throw new IllegalArgumentException("--kms " + prefix + " does not take '" + k + "'; it takes "
                        + String.join(", ", allowed.stream().sorted().toList()));
            }
            if (m.put(k, part.substring(eq + 1).trim()) != null) {
                throw new IllegalArgumentException("--kms " + prefix + " '" + k + "' given twice");
            }
        }
        return m;
    }

    private static String required(Map<String, String> p, String key, String scheme) {
        String v = p.get(key);
        if (v == null || v.isEmpty()) {
            throw new IllegalArgumentException("--kms " + scheme + ": needs " + key + "=...");
        }
        return v;
    }

    private static Pkcs11Config pkcs11(Map<String, String> p) throws IOException {
        Path library = Path.of(required(p, "library", "pkcs11"));
        if (!Files.isReadable(library)) {
            throw new IllegalArgumentException("--kms pkcs11: library " + library + " does not exist or is not readable");
        }
        int index = integer(p.getOrDefault("slot-list-index", "0"), "pkcs11: slot-list-index", 0, 1 << 16);
        char[] pin = readSecret(Path.of(required(p, "pin-file", "pkcs11")), "--kms pkcs11: pin-file");
        try {
            return Pkcs11Config.builder().library(library).slotListIndex(index).pin(pin).build();
        } finally {
            Arrays.fill(pin, '\0');
        }
    }

    private static KmipConfig kmip(Map<String, String> p) {
        KmipConfig.Builder b = KmipConfig.builder().host(required(p, "host", "kmip"))
                .caFile(existing(required(p, "ca", "kmip"), "ca"))
                .certFile(existing(required(p, "cert", "kmip"), "cert"))
                .keyFile(existing(required(p, "key", "kmip"), "key"));
        if (p.containsKey("port")) {
            b.port(integer(p.get("port"), "kmip: port", 1, 65535));
        }
        return b.build();
    }

    private static Path existing(String file, String what) {
        Path f = Path.of(file);
        if (!Files.isReadable(f)) {
            throw new IllegalArgumentException("--kms kmip: " + what + " file " + f + " does not exist or is not readable");
        }
        return f;
    }

    private static int integer(String v, String what, int min, int max) {
        try {
            int n = Integer.parseInt(v.trim());
            if (n < min || n > max) {
                throw new IllegalArgumentException("--kms " + what + " must be " + min + " to " + max + ", not " + n);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--kms " + what + " must be a number, not '" + v + "'");
        }
    }

    /**
     * The first line of a file holding a secret. The file must be a regular file that grants
     * nothing to group or others, like the root key file the local keystore insists on.
     */
    static char[] readSecret(Path file, String what) throws IOException {
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException(what + " " + file + " is not a regular file");
        }
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
        for (PosixFilePermission bad : List.of(PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
                PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE,
                PosixFilePermission.OTHERS_EXECUTE)) {
            if (perms.contains(bad)) {
                throw new IllegalArgumentException(what + " " + file + " is readable by others; run: chmod 600 " + file);
            }
        }
        byte[] raw = Files.readAllBytes(file);
        try {
            int end = 0;
            while (end < raw.length && raw[end] != '\n' && raw[end] != '\r') {
                end++;
            }
            if (end == 0) {
                throw new IllegalArgumentException(what + " " + file + " is empty");
            }
            CharBuffer chars = StandardCharsets.UTF_8.decode(ByteBuffer.wrap(raw, 0, end));
            char[] out = new char[chars.remaining()];
            chars.get(out);
            Arrays.fill(chars.array(), '\0');
            return out;
        } finally {
            Arrays.fill(raw, (byte) 0);
        }
    }
}
