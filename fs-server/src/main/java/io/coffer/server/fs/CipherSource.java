package io.coffer.server.fs;

import io.coffer.server.crypto.FsCipher;
import java.io.IOException;

/**
 * Gives the cipher of a file system, unwrapping its data key through the KMS when needed, and
 * makes data keys for new file systems. Implementations cache unwrapped keys for a bounded time
 * so that a disabled key takes effect within that bound. Thread-safe.
 */
public interface CipherSource {
    /** The cipher for {@code fs}; EACCES or EIO (naming the key and its state) when its key is unusable. */
    FsCipher cipher(FileSystemRecord fs) throws IOException;

    /**
     * Makes a data key for a new file system under {@code kmsKey} (null: the default key).
     *
     * @return the key id actually used and the wrapped data key (base64)
     */
    NewKey newDataKey(String fsId, String kmsKey, String caller) throws IOException;

    /**
     * Whether {@link #cipher} would answer {@code fs} now without calling a KMS (its key is
     * cached, or its refusal is), so that the caller may run it on a thread that must not wait
     * for the network.
     */
    default boolean ready(FileSystemRecord fs) {
        return true;
    }

    /** Drops any cached key of {@code fsId}. */
    void forget(String fsId);

    record NewKey(String keyId, String wrappedDataKey) {
    }
}
