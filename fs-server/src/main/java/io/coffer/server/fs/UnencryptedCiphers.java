package io.coffer.server.fs;

import io.coffer.core.status.NotSupportedException;
import io.coffer.server.crypto.FsCipher;
import io.coffer.server.crypto.PlainCipher;
import java.io.IOException;

/** A cipher source without a KMS: serves unencrypted file systems only. */
public final class UnencryptedCiphers implements CipherSource {
    private final PlainCipher plain = new PlainCipher();

    @Override
    public FsCipher cipher(FileSystemRecord fs) throws IOException {
        if (fs.encrypted()) {
            throw new NotSupportedException("file system " + fs.id() + " is encrypted but this server has no KMS");
        }
        return plain;
    }

    @Override
    public NewKey newDataKey(String fsId, String kmsKey, String caller) throws IOException {
        throw new NotSupportedException("encryption at rest needs a KMS; create the file system with --no-encrypted");
    }

    @Override
    public void forget(String fsId) {
    }
}
