package io.coffer.server.rpc;

import io.coffer.core.Credentials;
import io.coffer.core.FileSystemId;
import java.io.IOException;

/**
 * What one connection may do, decided when it is accepted (from its TLS identity and address)
 * and checked on every call: which file systems it may mount, read-only or read-write, whether
 * root is squashed, and whether it may run administrative commands.
 */
public interface AccessPolicy {
    /**
     * EACCES (with a message naming the identity and file system) if mounting is not allowed.
     *
     * @param transport the file system's transport policy (who may use it without TLS)
     */
    void checkMount(FileSystemId fs, io.coffer.server.transport.TransportRule transport) throws IOException;

    /** True if writes to {@code fs} must fail with EROFS. */
    boolean readOnly(FileSystemId fs);

    /** The credentials to act with, after root squashing. */
    Credentials map(FileSystemId fs, Credentials asked);

    /** EACCES if administrative commands are not allowed. */
    void checkAdmin() throws IOException;

    /** Who is behind the connection, for logs and audit. */
    String principal();

    /** Everything allowed: loopback administration and tests. */
    static AccessPolicy allowAll(String principal) {
        return new AccessPolicy() {
            @Override
            public void checkMount(FileSystemId fs, io.coffer.server.transport.TransportRule transport) {
            }

            @Override
            public boolean readOnly(FileSystemId fs) {
                return false;
            }

            @Override
            public Credentials map(FileSystemId fs, Credentials asked) {
                return asked;
            }

            @Override
            public void checkAdmin() {
            }

            @Override
            public String principal() {
                return principal;
            }
        };
    }
}
