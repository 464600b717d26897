package io.coffer.bench.meta;

import java.io.IOException;
import java.util.List;

/**
 * The operations the server's metadata store needs, reduced to what the benchmark measures.
 * Implementations are thread-safe; how they serialize writers is exactly what is being compared.
 */
interface MetaEngine extends AutoCloseable {

    /** Applies all puts atomically and returns only once they are on stable storage. */
    void commitDurably(List<Put> puts) throws Exception;

    /** Applies all puts atomically; durability is deferred to the next {@link #sync()}. */
    void commitNoSync(List<Put> puts) throws Exception;

    /** Makes every earlier {@link #commitNoSync} stable. */
    void sync() throws Exception;

    /** Point lookup; null when absent. Called from one thread at a time. */
    byte[] get(byte[] key) throws Exception;

    /** Visits every key starting with prefix in key order; returns the number of entries and bytes seen. */
    long[] scanPrefix(byte[] prefix) throws Exception;

    @Override
    void close() throws IOException;
}
