package io.coffer.server.meta;

import java.io.IOException;

/** Reads of the metadata store, from a consistent view. Not thread-safe; one per transaction. */
public interface MetaReader {
    /** The value of {@code key}, or null. */
    byte[] get(KeySpace space, byte[] key) throws IOException;

    /**
     * Visits keys that start with {@code prefix} in ascending order, beginning after
     * {@code startAfter} (or at the first such key when null), until the visitor returns false.
     */
    void scan(KeySpace space, byte[] prefix, byte[] startAfter, ScanVisitor visitor) throws IOException;

    @FunctionalInterface
    interface ScanVisitor {
        /** @return false to stop the scan */
        boolean visit(byte[] key, byte[] value) throws IOException;
    }
}
