package io.coffer.server.transport;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.coffer.core.FileSystemId;
import io.coffer.tls.PeerIdentity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Which client certificates may mount which file systems, read-write or read-only, with root
 * squashed or not, and which may administer the server: EFS's IAM authorization, with
 * certificates as identities. Loaded from a JSON file ({@code coffer server --access FILE}):
 *
 * <pre>{@code
 * { "unlisted": "deny",
 *   "clients": [
 *     { "name": "build-01", "admin": false, "rootSquash": true,
 *       "filesystems": { "fs-1a2b3c4d": "rw", "*": "ro" } },
 *     { "fingerprint": "3F:9A:...", "admin": true, "filesystems": { "*": "rw" } } ] }
 * }</pre>
 *
 * A rule matches a certificate by a DNS subject alternative name ({@code name}) or its SHA-256
 * fingerprint. Without a file, every client with a valid certificate (or none, where client
 * certificates are optional) may mount everything read-write.
 */
public final class AccessRules {
    public enum Mode { RW, RO, NONE }

    /** What one identity may do. */
    public record Grant(String label, boolean admin, boolean rootSquash, Map<String, Mode> filesystems) {
        public Mode modeFor(FileSystemId fs) {
            Mode m = filesystems.get(fs.toString());
            if (m == null) {
                m = filesystems.get("*");
            }
            return m == null ? Mode.NONE : m;
        }
    }

    private record Rule(String name, String fingerprint, Grant grant) {
        boolean matches(PeerIdentity id) {
            if (name != null && id.hasName(name)) {
                return true;
            }
            return fingerprint != null && id.hasFingerprint(fingerprint);
        }
    }

    private final List<Rule> rules;
    private final boolean denyUnlisted;
    private final boolean configured;

    private AccessRules(List<Rule> rules, boolean denyUnlisted, boolean configured) {
        this.rules = rules;
        this.denyUnlisted = denyUnlisted;
        this.configured = configured;
    }

    /** No rules: everyone who passes TLS may mount everything read-write; no one administers remotely. */
    public static AccessRules openToAll() {
        return new AccessRules(List.of(), false, false);
    }

    public boolean configured() {
        return configured;
    }

    public static AccessRules load(Path file) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(file));
        } catch (IOException e) {
            throw new IOException("access rules " + file + ": " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IOException("access rules " + file + ": expected a JSON object");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext();) {
            String f = it.next();
            if (!f.equals("unlisted") && !f.equals("clients")) {
                throw new IOException("access rules " + file + ": unknown field '" + f + "'");
            }
        }
        String unlisted = root.path("unlisted").asText("deny");
        if (!unlisted.equals("deny") && !unlisted.equals("allow")) {
            throw new IOException("access rules " + file + ": unlisted must be deny or allow");
        }
        List<Rule> rules = new ArrayList<>();
        int i = 0;
        for (JsonNode c : root.path("clients")) {
            String where = "access rules " + file + ": clients[" + i++ + "]";
            for (Iterator<String> it = c.fieldNames(); it.hasNext();) {
                String f = it.next();
                if (!List.of("name", "fingerprint", "admin", "rootSquash", "filesystems").contains(f)) {
                    throw new IOException(where + ": unknown field '" + f + "'");
                }
            }
            String name = c.hasNonNull("name") ? c.get("name").asText() : null;
            String fp = c.hasNonNull("fingerprint") ? c.get("fingerprint").asText() : null;
            if (name == null && fp == null) {
                throw new IOException(where + ": needs a name or a fingerprint");
            }
            Map<String, Mode> fss = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = c.path("filesystems").fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getKey().equals("*") && !FileSystemId.isValid(e.getKey())) {
                    throw new IOException(where + ": '" + e.getKey() + "' is not a file system id or *");
                }
                String m = e.getValue().asText().toLowerCase(Locale.ROOT);
                fss.put(e.getKey(), switch (m) {
                    case "rw" -> Mode.RW;
                    case "ro" -> Mode.RO;
                    case "none" -> Mode.NONE;
                    default -> throw new IOException(where + ": access must be rw, ro or none, not '" + m + "'");
                });
            }
            String label = name != null ? name : "fingerprint " + fp;
            rules.add(new Rule(name, fp, new Grant(label, c.path("admin").asBoolean(false),
                    c.path("rootSquash").asBoolean(false), fss)));
        }
        return new AccessRules(rules, unlisted.equals("deny"), true);
    }

    /** The grant of a certificate identity (null identity: no certificate presented). */
    public Grant grantFor(PeerIdentity id) {
        if (id != null) {
            for (Rule r : rules) {
                if (r.matches(id)) {
                    return r.grant();
                }
            }
        }
        String label = id == null ? "no client certificate" : describe(id);
        if (configured && denyUnlisted) {
            return new Grant(label, false, false, Map.of());
        }
        return new Grant(label, false, false, Map.of("*", Mode.RW));
    }

    static String describe(PeerIdentity id) {
        if (!id.dnsNames().isEmpty()) {
            return "certificate " + id.dnsNames().get(0);
        }
        return "certificate " + id.subject();
    }
}
