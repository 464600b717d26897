package io.coffer.server.admin;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.coffer.core.status.InvalException;
import io.coffer.kms.Kms;
import io.coffer.kms.KmsAdmin;
import io.coffer.kms.KmsException;
import io.coffer.server.crypto.KmsCiphers;
import io.coffer.server.rpc.AdminService;
import java.io.IOException;
import java.util.Map;

/**
 * The {@code kms-} administrative commands ({@code kms-create-key}, {@code kms-disable-key}, ...):
 * {@link KmsAdmin} behind JSON. The command name after the prefix and the argument names are
 * KmsAdmin's; KMS failures become file-system statuses (see {@link KmsCiphers#adminError}), so
 * the client prints one clear line.
 */
public final class KmsAdminService implements AdminService {
    public static final String PREFIX = "kms-";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final KmsAdmin admin;

    public KmsAdminService(Kms kms) {
        this.admin = new KmsAdmin(kms);
    }

    @Override
    public String handle(String command, String json, String caller) throws IOException {
        if (!command.startsWith(PREFIX)) {
            throw new InvalException("not a KMS command: " + command);
        }
        String name = command.substring(PREFIX.length());
        Map<String, Object> args;
        try {
            args = json == null || json.isBlank() ? Map.of()
                    : JSON.readValue(json, new TypeReference<Map<String, Object>>() { });
        } catch (IOException e) {
            throw new InvalException("arguments of " + command + " are not a JSON object: " + e.getMessage());
        }
        try {
            return JSON.writeValueAsString(admin.handle(name, args, caller));
        } catch (KmsException e) {
            throw KmsCiphers.adminError("kms " + name, e);
        }
    }
}
