package io.coffer.server.fs;

import io.coffer.core.RequestId;
import io.coffer.server.meta.KeySpace;
import io.coffer.server.meta.MetadataStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The duplicate-request cache, kept in the metadata store: the reply to a non-idempotent call is
 * written in the same transaction as its effect, keyed by client and xid. A retransmission,
 * even to a restarted server, gets the recorded reply instead of applying the call twice.
 * Entries older than the retention are swept.
 */
public final class DuplicateRequests {
    private final MetadataStore store;
    private final long retentionMillis;

    public DuplicateRequests(MetadataStore store, long retentionMillis) {
        this.store = store;
        this.retentionMillis = retentionMillis;
    }

    static byte[] key(RequestId id) {
        return ByteBuffer.allocate(24).putLong(id.client().getMostSignificantBits())
                .putLong(id.client().getLeastSignificantBits()).putLong(id.xid()).array();
    }

    static byte[] value(long millis, byte[] reply) {
        return ByteBuffer.allocate(8 + reply.length).putLong(millis).put(reply).array();
    }

    /** The recorded reply body of {@code id}, or null. */
    public byte[] find(RequestId id) throws IOException {
        byte[] v = store.read(r -> r.get(KeySpace.DRC, key(id)));
        return v == null ? null : Arrays.copyOfRange(v, 8, v.length);
    }

    /** Deletes entries recorded before {@code nowMillis - retention}; returns how many. */
    public int sweep(long nowMillis) throws IOException {
        long cutoff = nowMillis - retentionMillis;
        List<byte[]> old = new ArrayList<>();
        store.read(r -> {
            r.scan(KeySpace.DRC, new byte[0], null, (k, v) -> {
                if (ByteBuffer.wrap(v).getLong() < cutoff) {
                    old.add(k);
                }
                return old.size() < 100_000;
            });
            return null;
        });
        for (int i = 0; i < old.size(); i += 4096) {
            List<byte[]> part = old.subList(i, Math.min(old.size(), i + 4096));
            store.write(t -> {
                for (byte[] k : part) {
                    t.delete(KeySpace.DRC, k);
                }
                return null;
            });
        }
        return old.size();
    }
}
