package io.coffer.client.fuse;

import io.coffer.core.DirEntry;
import io.coffer.core.DirListing;
import io.coffer.core.FileHandle;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * An open directory, and where its listing was last seen to end.
 *
 * <p>The kernel reads a directory until a READDIR returns nothing, so a directory whose entries
 * fit in one reply cost a second READDIR, and a round trip, only to learn that it had ended,
 * which the server had already said. POSIX leaves it open whether entries added since the last
 * rewind are seen; a rewind (offset below 2) starts the listing afresh, from the server or from a
 * {@link RecentListings} listing of the same directory under that class's rules. The rest of a
 * page that did not fit the kernel's buffer is not kept: handing its names to the cache later
 * could bring back a name this mount removed in between.
 */
final class OpenDir {
    /** Entries the server is asked for at once. */
    static final int PAGE = 512;

    /** Fetches the entries after {@code cookie} (0: from the start). */
    interface Lister {
        DirListing list(long cookie, int max) throws IOException;
    }

    /** Hands one entry to the kernel's buffer; false when it is full and the entry was not taken. */
    interface Filler {
        /** @param again from a kept listing: the cache already learned what it says, or newer */
        boolean add(DirEntry e, boolean again) throws IOException;
    }

    final FileHandle handle;
    private final String path;
    private final RecentListings recent;
    private long endsAt = -1;

    OpenDir(FileHandle handle, String path, RecentListings recent) {
        this.handle = handle;
        this.path = path;
        this.recent = recent;
    }

    /**
     * Fills one READDIR at the kernel's {@code offset} (that of the last entry it was given; 2
     * after "." and ".."): nothing if the listing was seen to end there, else from a kept
     * listing or the server.
     */
    synchronized void fill(long offset, Lister lister, Filler filler) throws IOException {
        boolean ended = offset >= 2 && offset == endsAt;
        endsAt = -1;
        if (ended) {
            return;
        }
        long at = Math.max(offset, 2);
        boolean fromStart = offset < 2;
        if (fromStart) {
            List<DirEntry> kept = recent.get(path, handle);
            if (kept != null) {
                for (DirEntry e : kept) {
                    if (!filler.add(e, true)) {
                        return;
                    }
                    at = e.cookie();
                }
                endsAt = at;
                return;
            }
        }
        long stamp = recent.stamp();
        long fetchedAt = System.nanoTime();
        List<DirEntry> whole = fromStart ? new ArrayList<>() : null;
        DirListing l = lister.list(at == 2 ? 0 : at, PAGE);
        while (true) {
            for (DirEntry e : l.entries()) {
                if (!filler.add(e, false)) {
                    return;
                }
                at = e.cookie();
                if (whole != null) {
                    whole.add(e);
                    if (whole.size() > RecentListings.MAX_ENTRIES) {
                        whole = null;
                    }
                }
            }
            if (l.eof()) {
                endsAt = at;
                if (whole != null) {
                    recent.put(path, handle, whole, stamp, fetchedAt);
                }
                return;
            }
            if (l.entries().isEmpty()) {
                return;
            }
            l = lister.list(at, PAGE);
        }
    }
}
