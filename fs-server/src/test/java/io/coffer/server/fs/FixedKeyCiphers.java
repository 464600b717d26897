package io.coffer.server.fs;

import io.coffer.server.crypto.AesGcmCipher;
import io.coffer.server.crypto.FsCipher;
import io.coffer.server.crypto.PlainCipher;
import java.io.IOException;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** A cipher source for tests: data keys are random and kept in memory, "wrapped" as themselves. */
public final class FixedKeyCiphers implements CipherSource {
    private final Map<String, FsCipher> ciphers = new ConcurrentHashMap<>();

    @Override
    public FsCipher cipher(FileSystemRecord fs) {
        if (!fs.encrypted()) {
            return new PlainCipher();
        }
        return ciphers.computeIfAbsent(fs.id(), id -> new AesGcmCipher(
                io.coffer.core.FileSystemId.isValid(id) ? Integer.parseUnsignedInt(id.substring(3), 16) : 0,
                Base64.getDecoder().decode(fs.wrappedDataKey())));
    }

    @Override
    public NewKey newDataKey(String fsId, String kmsKey, String caller) throws IOException {
        byte[] k = new byte[32];
        new java.security.SecureRandom().nextBytes(k);
        return new NewKey("test-key", Base64.getEncoder().encodeToString(k));
    }

    @Override
    public void forget(String fsId) {
        ciphers.remove(fsId);
    }
}
