package io.coffer.client.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.core.DirEntry;
import io.coffer.core.DirListing;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** READDIRs answered from what the last one kept: the same entries as asking each time, fewer round trips. */
class OpenDirTest {
    /** A directory on the "server": entries with cookies 10, 20, ...; counts the pages asked for. */
    static final class Server implements OpenDir.Lister {
        final List<DirEntry> entries = new ArrayList<>();
        int calls;
        IOException fail;

        Server(int n) {
            for (int i = 0; i < n; i++) {
                add("f" + i);
            }
        }

        void add(String name) {
            long cookie = entries.isEmpty() ? 10 : entries.get(entries.size() - 1).cookie() + 10;
            entries.add(new DirEntry(name, cookie, null, null));
        }

        @Override
        public DirListing list(long cookie, int max) throws IOException {
            calls++;
            if (fail != null) {
                throw fail;
            }
            List<DirEntry> page = new ArrayList<>();
            int i = 0;
            while (i < entries.size() && entries.get(i).cookie() <= cookie) {
                i++;
            }
            while (i < entries.size() && page.size() < max) {
                page.add(entries.get(i++));
            }
            return new DirListing(page, i == entries.size());
        }
    }

    RecentListings recent = new RecentListings(60_000_000_000L);
    static int replayed;

    OpenDir open() {
        return new OpenDir(null, "/d", recent);
    }

    /** One READDIR whose buffer holds {@code room} entries; returns the names given and the next offset. */
    static long readdir(OpenDir d, OpenDir.Lister s, long offset, int room, List<String> out) throws IOException {
        long[] next = {offset < 2 ? 2 : offset};
        int[] left = {room};
        d.fill(offset, s, (e, again) -> {
            if (left[0] == 0) {
                return false;
            }
            if (again) {
                replayed++;
            }
            left[0]--;
            out.add(e.name());
            next[0] = e.cookie();
            return true;
        });
        return next[0];
    }

    /** Reads the whole directory as the kernel does: until a READDIR gives nothing. */
    static List<String> readAll(OpenDir d, OpenDir.Lister s, int room) throws IOException {
        List<String> names = new ArrayList<>();
        long offset = 0;
        while (true) {
            int before = names.size();
            offset = readdir(d, s, offset, room, names);
            if (names.size() == before) {
                return names;
            }
        }
    }

    static List<String> names(Server s) {
        return s.entries.stream().map(DirEntry::name).toList();
    }

    @Test
    void aSmallDirectoryCostsOneRoundTripNotTwo() throws IOException {
        Server s = new Server(5);
        OpenDir d = open();
        assertEquals(names(s), readAll(d, s, 100));
        assertEquals(1, s.calls, "the READDIR that finds the end is answered from memory");
    }

    @Test
    void anEmptyDirectoryToo() throws IOException {
        Server s = new Server(0);
        OpenDir d = open();
        assertEquals(List.of(), readAll(d, s, 100));
        assertEquals(1, s.calls);
    }

    @Test
    void aLargeDirectoryInSmallBuffersGivesEveryEntryOnceAndNoRoundTripForTheEnd() throws IOException {
        Server s = new Server(1300);
        OpenDir d = open();
        List<String> got = readAll(d, s, 97);
        assertEquals(names(s), got, "every entry once, in order");
        assertEquals(14, s.calls, "one page per READDIR of 97 entries, none for the READDIR that finds the end");
    }

    @Test
    void aBufferLargerThanAPageTakesSeveralPages() throws IOException {
        Server s = new Server(1300);
        OpenDir d = open();
        assertEquals(names(s), readAll(d, s, 1000));
        assertEquals(3, s.calls, "pages 1 and 2, then the rest from the 1,000th entry; none for the end");
    }

    @Test
    void aRewindAfterAChangeSeesNewEntries() throws IOException {
        Server s = new Server(5);
        OpenDir d = open();
        readAll(d, s, 100);
        s.add("late");
        recent.changed();
        List<String> again = readAll(d, s, 100);
        assertTrue(again.contains("late"), again.toString());
        assertEquals(2, s.calls);
    }

    @Test
    void aSeekElsewhereAsksFromThere() throws IOException {
        Server s = new Server(50);
        OpenDir d = open();
        List<String> got = new ArrayList<>();
        readdir(d, s, 2, 10, got);
        assertEquals(1, s.calls);
        got.clear();
        long seekTo = s.entries.get(29).cookie();
        readdir(d, s, seekTo, 5, got);
        assertEquals(List.of("f30", "f31", "f32", "f33", "f34"), got);
        assertEquals(2, s.calls, "a position other than where the last READDIR stopped is not answered from memory");
    }

    @Test
    void anEntryThatDidNotFitComesFirstInTheNextReaddir() throws IOException {
        Server s = new Server(3);
        OpenDir d = open();
        List<String> got = new ArrayList<>();
        long off = readdir(d, s, 2, 0, got);
        assertEquals(List.of(), got);
        assertEquals(2, off);
        readdir(d, s, off, 10, got);
        assertEquals(List.of("f0", "f1", "f2"), got);
    }

    @Test
    void aFailureLeavesNoEndBehind() throws IOException {
        Server s = new Server(5);
        OpenDir d = open();
        List<String> got = new ArrayList<>();
        long end = readdir(d, s, 2, 10, got);
        s.fail = new IOException("connection lost");
        IOException e = assertThrows(IOException.class, () -> readdir(d, s, 2, 10, new ArrayList<>()));
        assertEquals("connection lost", e.getMessage());
        s.fail = null;
        s.add("late");
        recent.changed();
        int calls = s.calls;
        List<String> rest = new ArrayList<>();
        readdir(d, s, end, 10, rest);
        assertEquals(List.of("late"), rest, "after a failed READDIR the end is asked for again");
        assertEquals(calls + 1, s.calls);
    }

    @Test
    void aNewStreamOnAnUnchangedDirectoryReadsTheKeptListing() throws IOException {
        Server s = new Server(40);
        assertEquals(names(s), readAll(open(), s, 100));
        replayed = 0;
        assertEquals(names(s), readAll(open(), s, 100), "what rm -r does: the same directory opened again");
        assertEquals(1, s.calls, "the second stream needs no round trip");
        assertEquals(40, replayed, "and tells the cache the names are not news");
    }

    @Test
    void anyChangeThroughTheMountRetiresKeptListings() throws IOException {
        Server s = new Server(40);
        readAll(open(), s, 100);
        recent.changed();
        s.add("made");
        List<String> again = readAll(open(), s, 100);
        assertTrue(again.contains("made"), again.toString());
        assertEquals(2, s.calls);
    }

    @Test
    void aListingFetchedWhileANameChangedIsNotKept() throws IOException {
        Server s = new Server(10);
        OpenDir.Lister racing = (cookie, max) -> {
            recent.changed();
            return s.list(cookie, max);
        };
        assertEquals(names(s), readAll(open(), racing, 100));
        readAll(open(), s, 100);
        assertEquals(2, s.calls, "the first listing was not kept");
    }

    @Test
    void aKeptListingExpiresAfterTheEntryTimeout() throws IOException {
        recent = new RecentListings(0);
        Server s = new Server(10);
        readAll(open(), s, 100);
        readAll(open(), s, 100);
        assertEquals(2, s.calls);
    }

    @Test
    void anotherDirectoryAtTheSamePathIsNotAnsweredFromTheOldOne() throws IOException {
        Server s = new Server(10);
        readAll(new OpenDir(handle(1), "/d", recent), s, 100);
        readAll(new OpenDir(handle(2), "/d", recent), s, 100);
        assertEquals(2, s.calls);
        readAll(new OpenDir(handle(2), "/d", recent), s, 100);
        assertEquals(2, s.calls);
    }

    @Test
    void aDirectoryLargerThanOneReaddirIsNotKept() throws IOException {
        Server s = new Server(300);
        readAll(open(), s, 100);
        int calls = s.calls;
        readAll(open(), s, 100);
        assertEquals(2 * calls, s.calls);
    }

    @Test
    void aKeptListingLargerThanTheBufferGivesTheRestFromTheServer() throws IOException {
        Server s = new Server(40);
        readAll(open(), s, 100);
        replayed = 0;
        assertEquals(names(s), readAll(open(), s, 15), "every entry once, in order");
        assertEquals(15, replayed);
        assertEquals(3, s.calls, "the first listing, then the 25 entries past the kept 15 from the server, in two READDIRs");
    }

    static io.coffer.core.FileHandle handle(long inode) {
        return new io.coffer.core.FileHandle(1, inode, 1);
    }
}
