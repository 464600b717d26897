package io.coffer.client.fuse;

import io.coffer.core.DirEntry;
import io.coffer.core.DirListing;
import io.coffer.core.FileHandle;

import java.io.IOException;

/**
 * An open directory, and where its listing was last seen to end.
 *
 * <p>The kernel reads a directory until a READDIR returns nothing, so a directory whose entries
 * fit in one reply cost a second READDIR, and a round trip, only to learn that it had ended,
 * which the server had already said. POSIX leaves it open whether entries added since the last
 * rewind are seen; a rewind (offset below 2) always asks the server. The rest of a page that did
 * not fit the kernel's buffer is not kept: handing its names to the cache later could bring back
 * a name this mount removed in between.
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
        boolean add(DirEntry e) throws IOException;
    }

    final FileHandle handle;
    private long endsAt = -1;

    OpenDir(FileHandle handle) {
        this.handle = handle;
    }

    /**
     * Fills one READDIR at the kernel's {@code offset} (that of the last entry it was given; 2
     * after "." and ".."): nothing if the listing was seen to end there, else from the server.
     */
    synchronized void fill(long offset, Lister lister, Filler filler) throws IOException {
        boolean ended = offset >= 2 && offset == endsAt;
        endsAt = -1;
        if (ended) {
            return;
        }
        long at = Math.max(offset, 2);
        DirListing l = lister.list(at == 2 ? 0 : at, PAGE);
        while (true) {
            for (DirEntry e : l.entries()) {
                if (!filler.add(e)) {
                    return;
                }
                at = e.cookie();
            }
            if (l.eof()) {
                endsAt = at;
                return;
            }
            if (l.entries().isEmpty()) {
                return;
            }
            l = lister.list(at, PAGE);
        }
    }
}
