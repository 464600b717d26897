package io.coffer.server.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.coffer.core.status.InvalException;
import io.coffer.core.status.NoSysException;
import io.coffer.server.fs.FileSystemRecord;
import io.coffer.server.fs.StoreFileSystem;
import io.coffer.server.rpc.AdminService;
import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;

/**
 * Administrative commands sent over the protocol: {@code fs-create}, {@code fs-list},
 * {@code fs-describe}, {@code fs-delete}, {@code fs-set-policy}, and whatever else is
 * registered (the KMS commands). Arguments and results are JSON.
 */
public final class FsAdmin implements AdminService {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final StoreFileSystem fs;
    private final Map<String, AdminService> delegates = new TreeMap<>();
    private volatile boolean encryptedByDefault;

    public FsAdmin(StoreFileSystem fs, boolean encryptedByDefault) {
        this.fs = fs;
        this.encryptedByDefault = encryptedByDefault;
    }

    /** Routes commands starting with {@code prefix} (e.g. {@code kms-}) to {@code service}. */
    public void register(String prefix, AdminService service) {
        delegates.put(prefix, service);
    }

    @Override
    public String handle(String command, String json, String caller) throws IOException {
        JsonNode args = json == null || json.isBlank() ? JSON.createObjectNode() : JSON.readTree(json);
        switch (command) {
            case "fs-create": {
                boolean encrypted = args.has("encrypted") ? args.get("encrypted").asBoolean() : encryptedByDefault;
                String key = args.hasNonNull("kmsKey") ? args.get("kmsKey").asText() : null;
                if (!encrypted && key != null) {
                    throw new InvalException("--kms-key needs an encrypted file system");
                }
                FileSystemRecord r = fs.createFileSystem(args.path("name").asText(null), encrypted, key,
                        args.path("chunkSize").asInt(0), caller);
                return JSON.writeValueAsString(describe(r));
            }
            case "fs-list": {
                ArrayNode a = JSON.createArrayNode();
                for (FileSystemRecord r : fs.listFileSystems()) {
                    a.add(describe(r));
                }
                return JSON.writeValueAsString(a);
            }
            case "fs-describe":
                return JSON.writeValueAsString(describe(fs.describeFileSystem(required(args, "id"))));
            case "fs-delete":
                fs.deleteFileSystem(required(args, "id"));
                return "{}";
            case "fs-set-policy":
                return JSON.writeValueAsString(describe(fs.updatePolicy(required(args, "id"),
                        JSON.writeValueAsString(args.get("policy")))));
            default:
                for (Map.Entry<String, AdminService> e : delegates.entrySet()) {
                    if (command.startsWith(e.getKey())) {
                        return e.getValue().handle(command, json, caller);
                    }
                }
                throw new NoSysException("unknown administrative command: " + command);
        }
    }

    private static String required(JsonNode args, String field) throws InvalException {
        if (!args.hasNonNull(field)) {
            throw new InvalException("missing argument: " + field);
        }
        return args.get(field).asText();
    }

    static ObjectNode describe(FileSystemRecord r) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("id", r.id());
        if (r.name() != null) {
            o.put("name", r.name());
        }
        o.put("state", r.state());
        o.put("created", java.time.Instant.ofEpochMilli(r.createdMillis()).toString());
        o.put("encrypted", r.encrypted());
        if (r.kmsKeyId() != null) {
            o.put("kmsKeyId", r.kmsKeyId());
        }
        o.put("chunkSize", r.chunkSize());
        o.put("formatVersion", r.formatVersion());
        if (r.policy() != null) {
            o.set("policy", JSON.readTree(r.policy()));
        }
        return o;
    }
}
