package io.coffer.server.meta;

import java.io.IOException;

/**
 * The metadata store engine. Every engine passes {@code MetadataStoreContract} in the tests.
 *
 * <p>Durability: a committed transaction survives a crash of the server process at once. It
 * survives a crash of the machine after the next {@link #sync()} returns, or at once when the
 * engine was opened in strict mode. Thread-safe.
 */
public interface MetadataStore extends AutoCloseable {

    /** Runs {@code work} against a consistent snapshot. */
    <T> T read(ReadWork<T> work) throws IOException;

    /**
     * Runs {@code work} in a transaction and commits it. On a lock conflict or deadlock the
     * engine rolls back and runs {@code work} again, so it must have no side effects outside
     * the transaction (use {@link MetaTxn#afterCommit}).
     */
    <T> T write(WriteWork<T> work) throws IOException;

    /** Makes every transaction committed so far durable against a machine crash. */
    void sync() throws IOException;

    @Override
    void close() throws IOException;

    @FunctionalInterface
    interface ReadWork<T> {
        T run(MetaReader reader) throws IOException;
    }

    @FunctionalInterface
    interface WriteWork<T> {
        T run(MetaTxn txn) throws IOException;
    }
}
