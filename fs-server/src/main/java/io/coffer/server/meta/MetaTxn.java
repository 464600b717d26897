package io.coffer.server.meta;

import java.io.IOException;

/**
 * A read-write transaction. Keys read with {@link #getForUpdate} are locked until the end of the
 * transaction, so work that reads them, decides, and writes is serializable with any other
 * transaction touching the same keys. Writes become visible to others only at commit.
 */
public interface MetaTxn extends MetaReader {
    byte[] getForUpdate(KeySpace space, byte[] key) throws IOException;

    void put(KeySpace space, byte[] key, byte[] value) throws IOException;

    void delete(KeySpace space, byte[] key) throws IOException;

    /** Runs {@code action} once, after this transaction commits (never if it rolls back or retries). */
    void afterCommit(Runnable action);
}
