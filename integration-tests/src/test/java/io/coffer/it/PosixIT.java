package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * POSIX behaviour through a real kernel mount: every operation of the foundation issue, with its
 * error cases, checked by errno (through a small Python probe) where Java would blur them.
 */
class PosixIT {
    @TempDir
    static Path work;
    static Coffer coffer;
    static Path mnt;
    static Path probe;
    static String fs;
    static String options;
    Path dir;

    @BeforeAll
    static void mount() throws Exception {
        Coffer.requireFuse();
        // Tests switch to user nobody, who must be able to reach the mount point and the probe.
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        coffer = new Coffer(work);
        Coffer.Server server = coffer.server();
        fs = server.createFs(Coffer.defaultFsArgs());
        options = "addr=127.0.0.1,port=" + server.port;
        mnt = coffer.mount(fs, options);
        probe = work.resolve("fsop.py");
        try (var in = PosixIT.class.getResourceAsStream("/fsop.py")) {
            Files.copy(in, probe);
        }
        Files.setPosixFilePermissions(mnt, PosixFilePermissions.fromString("rwxrwxrwx"));
    }

    @AfterAll
    static void unmount() throws Exception {
        if (coffer != null) {
            coffer.close();
        }
    }

    @BeforeEach
    void freshDir(TestInfo info) throws Exception {
        dir = Files.createDirectory(mnt.resolve(info.getTestMethod().orElseThrow().getName()));
    }

    /** Runs one call as root (or as {@code nobody} when asked) and returns OK or the errno name. */
    static String op(boolean asNobody, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>();
        if (asNobody) {
            cmd.addAll(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
        }
        cmd.addAll(List.of("/usr/bin/python3", probe.toString()));
        cmd.addAll(List.of(args));
        return Coffer.run(Duration.ofSeconds(60), cmd).out().trim();
    }

    static String op(String... args) throws Exception {
        return op(false, args);
    }

    String p(String name) {
        return dir.resolve(name).toString();
    }

    /**
     * The mount leaves clearing privileges to the server (FUSE_HANDLE_KILLPRIV_V2), so the kernel
     * no longer asks for security.capability before every write; what Linux clears must still be
     * cleared, and seen through the mount.
     */
    @Test
    void writesTruncatesAndChownsDropPrivileges() throws Exception {
        String f = p("suid");
        assertEquals("OK", op("create", f));
        assertEquals("OK", op("chmod", f, "4777"));
        assertEquals("OK", op(true, "append", f, "x"));
        assertEquals("777", op("mode", f), "an unprivileged write clears set-user-ID");
        assertEquals("OK", op("chmod", f, "6777"));
        assertEquals("OK", op(true, "append", f, "x"));
        assertEquals("777", op("mode", f), "and set-group-ID with group execute");
        assertEquals("OK", op("chmod", f, "2767"));
        assertEquals("OK", op(true, "append", f, "x"));
        assertEquals("2767", op("mode", f), "set-group-ID without group execute stays");
        assertEquals("OK", op("chmod", f, "4777"));
        assertEquals("OK", op("append", f, "x"));
        assertEquals("4777", op("mode", f), "root's write keeps set-user-ID");
        assertEquals("OK", op(true, "truncate", f, "0"));
        assertEquals("777", op("mode", f), "an unprivileged truncate clears it");
        assertEquals("OK", op("chmod", f, "4755"));
        assertEquals("OK", op("chown", f, "65534", "65534"));
        assertEquals("755", op("mode", f), "chown clears it");

        for (String how : List.of("append", "truncate", "chown")) {
            String c = p("cap-" + how);
            assertEquals("OK", op("create", c));
            assertEquals("OK", op("setcap_net_raw", c));
            assertEquals("OK", op("read", c));
            assertFalse(op("getxattr", c, "security.capability").startsWith("E"), "capability set");
            String r = switch (how) {
                case "append" -> op("append", c, "more");
                case "truncate" -> op("truncate", c, "0");
                default -> op("chown", c, "65534", "65534");
            };
            assertEquals("OK", r);
            assertEquals("ENODATA", op("getxattr", c, "security.capability"), how + " removes capabilities");
        }

        // A new name for an old inode is not a new inode: its capabilities still show through it.
        String capped = p("capped");
        assertEquals("OK", op("create", capped));
        assertEquals("OK", op("setcap_net_raw", capped));
        assertEquals("OK", op("link", capped, p("capped-link")));
        assertFalse(op("getxattr", p("capped-link"), "security.capability").startsWith("E"),
                "a hard link shows the capability");
        assertEquals("OK", op("append", p("capped-link"), "x"));
        assertEquals("ENODATA", op("getxattr", capped, "security.capability"), "a write through the link removes it");
    }

    @Test
    void createReadWriteAppendAndExclusive() throws Exception {
        Path f = dir.resolve("f.txt");
        Files.writeString(f, "hello\n");
        Files.writeString(f, "world\n", StandardOpenOption.APPEND);
        assertEquals("hello\nworld\n", Files.readString(f));
        assertThrows(FileAlreadyExistsException.class, () -> Files.newByteChannel(f, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE).close());
        assertEquals("EEXIST", op("create_excl", f.toString()));
        assertEquals("OK", op("create_excl", p("new")));
        assertEquals("ENOENT", op("open_read", p("missing")));
        assertEquals("EISDIR", op("open_write", dir.toString()));
        assertEquals("ENOTDIR", op("create", p("f.txt") + "/below"));
    }

    @Test
    void sparseFilesAndTruncateBothWays() throws Exception {
        Path f = dir.resolve("sparse");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("end".getBytes()), 5L * 1024 * 1024 * 1024);
        }
        assertEquals(5L * 1024 * 1024 * 1024 + 3, Files.size(f));
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(4096);
            ch.read(b, 4L * 1024 * 1024 * 1024);
            assertArrayEquals(new byte[4096], b.array(), "hole reads as zeros");
            ByteBuffer e = ByteBuffer.allocate(3);
            ch.read(e, 5L * 1024 * 1024 * 1024);
            assertEquals("end", new String(e.array()));
        }
        Path t = dir.resolve("trunc");
        byte[] data = new byte[300_000];
        new Random(3).nextBytes(data);
        Files.write(t, data);
        assertEquals("OK", op("truncate", t.toString(), "1000"));
        assertEquals(1000, Files.size(t));
        assertEquals("OK", op("truncate", t.toString(), "200000"));
        byte[] back = Files.readAllBytes(t);
        assertEquals(200000, back.length);
        for (int i = 0; i < 1000; i++) {
            assertEquals(data[i], back[i]);
        }
        for (int i = 1000; i < back.length; i++) {
            assertEquals(0, back[i], "byte " + i + " after growing must be zero");
        }
    }

    @Test
    void directoriesAndTheirErrors() throws Exception {
        assertEquals("OK", op("mkdir", p("d")));
        assertEquals("EEXIST", op("mkdir", p("d")));
        Files.writeString(dir.resolve("d/f"), "x");
        assertEquals("ENOTEMPTY", op("rmdir", p("d")));
        assertEquals("EISDIR", op("unlink", p("d")));
        assertEquals("ENOTDIR", op("rmdir", p("d/f")));
        assertEquals("ENOENT", op("rmdir", p("nothing")));
        assertEquals("ENAMETOOLONG", op("create", p("n".repeat(256))));
        assertEquals("OK", op("create", p("n".repeat(255))));
        assertEquals("OK", op("unlink", p("d/f")));
        assertEquals("OK", op("rmdir", p("d")));
    }

    @Test
    void readdirOverThousandsOfEntries() throws Exception {
        Path big = Files.createDirectory(dir.resolve("big"));
        Set<String> names = new HashSet<>();
        for (int i = 0; i < 5000; i++) {
            String n = "file-" + i + "-" + "x".repeat(i % 40);
            Files.createFile(big.resolve(n));
            names.add(n);
        }
        Set<String> seen = new HashSet<>();
        try (Stream<Path> s = Files.list(big)) {
            s.forEach(x -> assertTrue(seen.add(x.getFileName().toString()), "listed twice: " + x));
        }
        assertEquals(names, seen);
        assertEquals("5000", Coffer.sh("ls -1 " + big + " | wc -l").out().trim());
    }

    /**
     * Directory streams through libc, as programs use them: two open at once on one directory,
     * interleaved; a rewind that must show an entry made since; removal while reading. The
     * daemon answers a READDIR from what the previous one on the same stream fetched.
     */
    @Test
    void directoryStreamsInterleavedRewoundAndEmptiedWhileRead() throws Exception {
        Path big = Files.createDirectory(dir.resolve("big"));
        for (int i = 0; i < 2000; i++) {
            Files.createFile(big.resolve("entry-" + i + "-" + "y".repeat(i % 50)));
        }
        Path script = work.resolve("dirstreams.pl");
        Files.writeString(script, """
                use strict;
                my $d = shift;
                sub names { my $h = shift; my @n; while (defined(my $e = readdir($h))) { push @n, $e unless $e =~ /^\\.\\.?$/ } return @n }
                opendir(my $a, $d) or die "a: $!";
                opendir(my $b, $d) or die "b: $!";
                my (%sa, %sb, $ea, $eb);
                until ($ea && $eb) {
                    for (1..7) { my $e = readdir($a); if (!defined $e) { $ea = 1; last } die "a twice $e" if $sa{$e}++ }
                    for (1..13) { my $e = readdir($b); if (!defined $e) { $eb = 1; last } die "b twice $e" if $sb{$e}++ }
                }
                print scalar(keys %sa) - 2, " ", scalar(keys %sb) - 2, "\n";
                open(my $f, ">", "$d/late") or die "late: $!"; close $f;
                rewinddir($a);
                my @again = names($a);
                print scalar(@again), " ", (grep { $_ eq "late" } @again) ? "late" : "no-late", "\n";
                rewinddir($a);
                my $gone = 0;
                while (defined(my $e = readdir($a))) { next if $e =~ /^\\.\\.?$/; unlink("$d/$e") or die "unlink $e: $!"; $gone++ }
                rewinddir($a);
                my @left = names($a);
                print "$gone ", scalar(@left), "\n";
                rmdir($d) or die "rmdir: $!";
                print "removed\n";
                """);
        Coffer.Result r = Coffer.sh("perl " + script + " " + big);
        assertEquals(0, r.exit(), r.err());
        assertEquals(List.of("2000 2000", "2001 late", "2001 0", "removed"), r.out().lines().toList());
        assertFalse(Files.exists(big));
    }

    /**
     * A directory listed again within the entry timeout (rm -r opens each directory twice) may be
     * answered from the last listing, but never once this mount has changed a name: each listing
     * here follows a change made a moment before, and must show it.
     */
    @Test
    void aListingReadAgainAtOnceShowsEveryChangeThisMountMade() throws Exception {
        Path d = Files.createDirectory(dir.resolve("d"));
        Path script = work.resolve("relist.py");
        Files.writeString(script, """
                import os, sys
                d = sys.argv[1]
                def ls():
                    return ",".join(sorted(os.listdir(d)))
                for n in ("a", "b", "c"):
                    open(os.path.join(d, n), "w").close()
                print(ls()); print(ls())
                os.unlink(os.path.join(d, "b")); print(ls())
                open(os.path.join(d, "e"), "w").close(); print(ls())
                os.rename(os.path.join(d, "a"), os.path.join(d, "f")); print(ls())
                os.mkdir(os.path.join(d, "g")); print(ls())
                os.symlink("c", os.path.join(d, "h")); print(ls())
                os.link(os.path.join(d, "c"), os.path.join(d, "i")); print(ls())
                os.mknod(os.path.join(d, "j")); print(ls())
                os.rmdir(os.path.join(d, "g")); print(ls())
                os.rename(os.path.join(d, "e"), os.path.join(d, "c")); print(ls())
                """);
        Coffer.Result r = Coffer.sh("python3 " + script + " " + d);
        assertEquals(0, r.exit(), r.err());
        assertEquals(List.of("a,b,c", "a,b,c", "a,c", "a,c,e", "c,e,f", "c,e,f,g", "c,e,f,g,h", "c,e,f,g,h,i",
                "c,e,f,g,h,i,j", "c,e,f,h,i,j", "c,f,h,i,j"), r.out().lines().toList());
    }

    @Test
    void renamesAreAtomicAndWorkOnDirectories() throws Exception {
        Files.writeString(dir.resolve("a"), "A");
        Files.writeString(dir.resolve("b"), "B");
        assertEquals("OK", op("rename", p("a"), p("b")));
        assertEquals("A", Files.readString(dir.resolve("b")));
        assertFalse(Files.exists(dir.resolve("a")));
        Files.createDirectories(dir.resolve("x/y"));
        Files.createDirectories(dir.resolve("z"));
        Files.writeString(dir.resolve("x/y/f"), "deep");
        assertEquals("OK", op("rename", p("x/y"), p("z/y2")));
        assertEquals("deep", Files.readString(dir.resolve("z/y2/f")));
        assertEquals("EINVAL", op("rename", p("z"), p("z/y2/inside")));
        Files.createDirectories(dir.resolve("full/child"));
        assertEquals("ENOTEMPTY", op("rename", p("z"), p("full")));
        assertEquals("ENOTDIR", op("rename", p("z"), p("b")));
        assertEquals("EISDIR", op("rename", p("b"), p("z")));
        Files.createDirectories(dir.resolve("empty"));
        assertEquals("OK", op("rename", p("z"), p("empty")));
        assertEquals("deep", Files.readString(dir.resolve("empty/y2/f")));
        // Moving across directories of one mount never gives EXDEV.
        Files.writeString(dir.resolve("m"), "move me");
        assertEquals("OK", op("rename", p("m"), p("empty/y2/m")));
    }

    @Test
    void hardLinksAndSymlinks() throws Exception {
        Files.writeString(dir.resolve("orig"), "content");
        assertEquals(1, (int) Files.getAttribute(dir.resolve("orig"), "unix:nlink"));
        assertEquals("OK", op("link", p("orig"), p("alias")));
        assertEquals(2, (int) Files.getAttribute(dir.resolve("orig"), "unix:nlink"), "at once, not after the cache");
        assertEquals(Files.getAttribute(dir.resolve("orig"), "unix:ino"), Files.getAttribute(dir.resolve("alias"), "unix:ino"));
        assertEquals("OK", op("unlink", p("orig")));
        assertEquals(1, (int) Files.getAttribute(dir.resolve("alias"), "unix:nlink"), "at once, not after the cache");
        assertEquals("content", Files.readString(dir.resolve("alias")));
        Files.createDirectory(dir.resolve("sub"));
        assertEquals("EPERM", op("link", p("sub"), p("sublink")));
        assertEquals("OK", op("symlink", "alias", p("sym")));
        assertEquals("alias", Files.readSymbolicLink(dir.resolve("sym")).toString());
        assertEquals("content", Files.readString(dir.resolve("sym")));
        assertEquals("EEXIST", op("symlink", "x", p("alias")));
    }

    /**
     * Every name of a file shows its link count at once after a link, unlink or rename over one of
     * them, also names in other directories, and names whose cached entries expired meanwhile.
     */
    @Test
    void everyNameShowsTheLinkCountAtOnce() throws Exception {
        Path x = Files.createDirectories(dir.resolve("lx/deep"));
        Path y = Files.createDirectory(dir.resolve("ly"));
        for (int i = 0; i < 20; i++) {
            Path a = x.resolve("a" + i);
            Path b = y.resolve("b" + i);
            Path c = dir.resolve("c" + i);
            Files.writeString(a, "v" + i);
            Files.createLink(b, a);
            assertEquals(2, nlink(a), "a after the first link, round " + i);
            Files.createLink(c, a);
            assertEquals(List.of(3, 3, 3), List.of(nlink(a), nlink(b), nlink(c)), "after the second link, round " + i);
            if (i == 10) {
                Coffer.afterCacheTimeout();
            }
            Files.delete(b);
            assertEquals(List.of(2, 2), List.of(nlink(a), nlink(c)), "after an unlink, round " + i);
            Path other = dir.resolve("other" + i);
            Files.writeString(other, "o");
            Files.move(other, c, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            assertEquals(1, nlink(a), "after a rename over another name, round " + i);
            assertEquals(1, nlink(c), "the name renamed over, round " + i);
            assertEquals("v" + i, Files.readString(a));
        }
    }

    /**
     * Past the files a mount holds open at once, an open gets ENFILE, a clear error, rather than
     * running the daemon out of memory; closing them makes room again.
     */
    @Test
    void tooManyOpenFilesGetENFILEAndTheMountGoesOn() throws Exception {
        Path d = Files.createDirectory(dir.resolve("many-open"));
        String script = String.join("\n",
                "import os, resource, sys",
                "h = resource.getrlimit(resource.RLIMIT_NOFILE)[1]",
                "resource.setrlimit(resource.RLIMIT_NOFILE, (h, h))",
                "fds = []",
                "err = 'none'",
                "for i in range(9000):",
                "    try:",
                "        fd = os.open('" + d + "/f%d' % i, os.O_CREAT | os.O_WRONLY, 0o644)",
                "    except OSError as e:",
                "        err = e.strerror",
                "        break",
                "    os.write(fd, b'line %d' % i)",
                "    fds.append(fd)",
                "print(len(fds), err, os.path.exists('" + d + "/f%d' % len(fds)))",
                "for fd in fds:",
                "    os.close(fd)",
                "fd = os.open('" + d + "/again', os.O_CREAT | os.O_WRONLY, 0o644)",
                "os.write(fd, b'again')",
                "os.close(fd)");
        Path py = Files.writeString(dir.resolve("many-open.py"), script);
        Coffer.Result r = Coffer.sh("python3 " + py);
        assertEquals(0, r.exit(), r.err());
        String[] out = r.out().trim().split(" ", 2);
        int held = Integer.parseInt(out[0]);
        assertTrue(held > 8_000 && held <= 8_192, r.out());
        assertEquals("Too many open files in system False", out[1], "ENFILE, and the refused create made no file");
        assertEquals("again", Files.readString(d.resolve("again")));
        assertEquals("line 4321", Files.readString(d.resolve("f4321")));
    }

    /** A sparse file's st_blocks (du) counts what it stores, while written and after, as on ext4. */
    @Test
    void aSparseFileShowsOnlyWhatItStores() throws Exception {
        Path f = dir.resolve("sparse");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[4096]), 512L << 20);
            assertEquals((512L << 20) + 4096, Files.size(f));
            assertTrue(blocks(f) <= 16, "while open: " + blocks(f) + " blocks");
        }
        assertTrue(blocks(f) <= 16, "after close: " + blocks(f) + " blocks");
        Coffer.sh("truncate -s 2G " + f).ok();
        assertTrue(blocks(f) <= 16, "after a truncate up: " + blocks(f) + " blocks");
        Coffer.sh("dd if=/dev/urandom of=" + f + " bs=1M count=3 seek=1000 conv=notrunc,fsync status=none").ok();
        assertEquals(3 * 1024 + 4, Long.parseLong(Coffer.sh("du -k " + f).out().split("\\s+")[0]));
        Coffer.sh("truncate -s 600M " + f).ok();
        assertEquals(4, Long.parseLong(Coffer.sh("du -k " + f).out().split("\\s+")[0]));
        Path dense = dir.resolve("dense");
        Coffer.sh("dd if=/dev/zero of=" + dense + " bs=1M count=5 status=none").ok();
        assertEquals(5 * 1024, Long.parseLong(Coffer.sh("du -k " + dense).out().split("\\s+")[0]));
    }

    private static long blocks(Path p) throws Exception {
        return Long.parseLong(Coffer.sh("stat -c %b " + p).out().trim());
    }

    /** As on Linux's own file systems, a file's ctime moves at once when it is linked, renamed or loses a name. */
    @Test
    void ctimeMovesOnLinkRenameAndUnlink() throws Exception {
        Path a = dir.resolve("ct");
        Files.writeString(a, "c");
        Path b = dir.resolve("ct-link");
        Path moved = dir.resolve("ct-moved");
        long t0 = ctime(a);
        Thread.sleep(20);
        Files.createLink(b, a);
        long t1 = ctime(a);
        assertTrue(t1 > t0, "after link");
        Thread.sleep(20);
        Files.move(a, moved, StandardCopyOption.ATOMIC_MOVE);
        long t2 = ctime(moved);
        assertTrue(t2 > t1, "after rename");
        Thread.sleep(20);
        Files.delete(b);
        assertTrue(ctime(moved) > t2, "after unlink of the other name");
    }

    private static long ctime(Path p) throws IOException {
        FileTime t = (FileTime) Files.getAttribute(p, "unix:ctime");
        return t.to(java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    private static int nlink(Path p) throws IOException {
        return (int) Files.getAttribute(p, "unix:nlink");
    }

    @Test
    void permissionsForAnotherUser() throws Exception {
        Path priv = Files.createDirectory(dir.resolve("private"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(priv, PosixFilePermissions.fromString("rwx------"));
        Files.writeString(dir.resolve("secret"), "s");
        Files.setPosixFilePermissions(dir.resolve("secret"), PosixFilePermissions.fromString("rw-------"));
        assertEquals("EACCES", op(true, "listdir", priv.toString()));
        assertEquals("EACCES", op(true, "read", p("secret")));
        assertEquals("EACCES", op(true, "create", p("by-nobody")));
        assertEquals("EPERM", op(true, "chmod", p("secret"), "777"));
        assertEquals("EPERM", op(true, "chown", p("secret"), "65534", "65534"));
        Path open = Files.createDirectory(dir.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertEquals("OK", op(true, "create", open.resolve("mine").toString()));
        assertEquals(65534, (int) Files.getAttribute(open.resolve("mine"), "unix:uid"));
        assertEquals("OK", op("chown", open.resolve("mine").toString(), "1234", "5678"));
        Coffer.afterCacheTimeout();
        assertEquals(1234, (int) Files.getAttribute(open.resolve("mine"), "unix:uid"));
        assertEquals(5678, (int) Files.getAttribute(open.resolve("mine"), "unix:gid"));
    }

    /**
     * As on ext4: a descriptor opened for writing keeps writing and truncating after its owner made
     * the file read-only, while a truncate by name then gets EACCES.
     */
    @Test
    void anOpenDescriptorOutlivesTheModeItWasOpenedUnder() throws Exception {
        Path open = Files.createDirectory(dir.resolve("fd-mode"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path f = open.resolve("ro-later");
        Path py = Files.writeString(dir.resolve("fd-mode.py"), String.join("\n",
                "import os, errno",
                "fd = os.open('" + f + "', os.O_CREAT | os.O_RDWR, 0o644)",
                "os.write(fd, b'abcdef')",
                "os.fchmod(fd, 0o400)",
                "os.write(fd, b'gh')",
                "os.ftruncate(fd, 3)",
                "os.fsync(fd)",
                "os.close(fd)",
                "try:",
                "    os.truncate('" + f + "', 1)",
                "    print('truncated by name')",
                "except OSError as e:",
                "    print(errno.errorcode[e.errno])"));
        Coffer.Result r = Coffer.sh("su nobody -s /bin/sh -c 'python3 " + py + "'");
        assertEquals(0, r.exit(), r.err());
        assertEquals("EACCES", r.out().trim());
        assertEquals("abc", Files.readString(f));
    }

    @Test
    void timesKeepNanoseconds() throws Exception {
        Path f = dir.resolve("t");
        Files.writeString(f, "t");
        Instant when = Instant.parse("2021-03-04T05:06:07.123456789Z");
        Files.setLastModifiedTime(f, FileTime.from(when));
        assertEquals(when, Files.getLastModifiedTime(f).toInstant());
        assertEquals("2021-03-04 05:06:07.123456789 +0000", Coffer.sh("TZ=UTC stat -c %y " + f).out().trim());
        Instant before = Instant.now().minusSeconds(2);
        assertEquals("OK", op("utime_now", f.toString()));
        Coffer.afterCacheTimeout();
        assertTrue(Files.getLastModifiedTime(f).toInstant().isAfter(before));
        FileTime ctime = (FileTime) Files.getAttribute(f, "unix:ctime");
        assertTrue(ctime.toInstant().isAfter(before));
        // Past the range of nanoseconds in a long: held to its ends, as ext4 holds times to its own.
        Coffer.sh("TZ=UTC touch -m -d '2500-01-01 00:00:00' " + f).ok();
        assertEquals("2262-04-11 23:47:16.854775807 +0000", Coffer.sh("TZ=UTC stat -c %y " + f).out().trim());
        Coffer.sh("TZ=UTC touch -m -d '1500-01-01 00:00:00' " + f).ok();
        assertEquals("1677-09-21 00:12:43.145224192 +0000", Coffer.sh("TZ=UTC stat -c %y " + f).out().trim());
    }

    @Test
    void statfsAndFsync() throws Exception {
        var store = Files.getFileStore(mnt);
        assertTrue(store.getTotalSpace() > 0);
        assertTrue(store.getUsableSpace() > 0);
        assertTrue(Coffer.sh("df -P " + mnt).out().contains(mnt.toString()));
        Path f = dir.resolve("synced");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[1 << 20]));
            ch.force(true);
        }
        assertEquals(1 << 20, Files.size(f));
    }

    @Test
    void extendedAttributes() throws Exception {
        Path f = dir.resolve("xa");
        Files.writeString(f, "x");
        UserDefinedFileAttributeView v = Files.getFileAttributeView(f, UserDefinedFileAttributeView.class);
        v.write("color", StandardCharsets.UTF_8.encode("blue"));
        assertEquals(List.of("color"), v.list());
        ByteBuffer b = ByteBuffer.allocate(v.size("color"));
        v.read("color", b);
        assertEquals("blue", new String(b.array(), StandardCharsets.UTF_8));
        assertEquals("blue", op("getxattr", f.toString(), "user.color"));
        assertEquals("ENODATA", op("getxattr", f.toString(), "user.none"));
        v.delete("color");
        assertTrue(v.list().isEmpty());
        // errno 95: Python names it ENOTSUP, the same value as EOPNOTSUPP on Linux.
        assertEquals("ENOTSUP", op("setxattr", f.toString(), "system.coffer_test", "xx"));
        assertEquals("EPERM", op(true, "setxattr", f.toString(), "trusted.x", "1"));
    }

    @Test
    void locksBetweenProcesses() throws Exception {
        Path f = dir.resolve("lockme");
        Files.writeString(f, "lock");
        for (String[] kind : new String[][] {{"lockhold", "locktry"}, {"flockhold", "flocktry"}}) {
            Process holder = new ProcessBuilder("/usr/bin/python3", probe.toString(), kind[0], f.toString()).start();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(holder.getInputStream()))) {
                assertEquals("LOCKED", r.readLine());
                assertEquals("EAGAIN", op(kind[1], f.toString()), kind[1] + " while another process holds the lock");
                if (kind[0].equals("lockhold")) {
                    assertEquals("LOCKED_BY_OTHER", op("getlk_pid", f.toString()));
                }
                try (OutputStream o = holder.getOutputStream()) {
                    o.close();
                }
                assertTrue(holder.waitFor(20, java.util.concurrent.TimeUnit.SECONDS));
            }
            assertEquals("OK", op(kind[1], f.toString()), kind[1] + " after the holder exited");
        }
    }

    @Test
    void specialFiles() throws Exception {
        Coffer.sh("mkfifo " + dir.resolve("fifo")).ok();
        assertEquals("p", Coffer.sh("stat -c %A " + dir.resolve("fifo")).out().substring(0, 1));
        Coffer.sh("mknod " + dir.resolve("null") + " c 1 3").ok();
        assertEquals("1,3", Coffer.sh("stat -c %t,%T " + dir.resolve("null")).out().trim());
    }

    /**
     * Random reads and writes of one file by four threads at once, each in its own quarter, every
     * read checked against what that thread wrote: READs are answered by whichever thread has the
     * server's reply, and WRITEs taken from the kernel's request directly, so the answers must
     * reach the right callers with the right bytes.
     */
    @Test
    void concurrentRandomReadsAndWritesMatchWhatWasWritten() throws Exception {
        randomReadsAndWrites(dir.resolve("random.bin"));
    }

    /** The same through libfuse's own read and write callbacks, which the daemon falls back on. */
    @Test
    void readsAndWritesThroughLibfuseWhenTheDaemonDoesNotTakeThem() throws Exception {
        Path other = coffer.mount(fs, options, java.util.Map.of("COFFER_JAVA_OPTS", "-Dcoffer.fuse.raw=false"));
        try {
            randomReadsAndWrites(other.resolve(dir.getFileName().toString()).resolve("random.bin"));
        } finally {
            coffer.umount(other);
        }
    }

    /**
     * Single bytes rewritten over and over, at one offset and at offsets taken in turn (a program
     * updating a header or counters in place). Each such write used to become a record of its own
     * waiting for every earlier write of its bytes: a few thousand ran the daemon out of heap and
     * the writes failed with EIO.
     */
    @Test
    // A daemon out of heap left the writing thread blocked in write(2): fail rather than hang the suite.
    @Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void singleBytesRewrittenInPlaceAllLand() throws Exception {
        Path f = dir.resolve("counters");
        byte[] model = new byte[(1 << 20) + 1];
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (int i = 0; i < 20_000; i++) {
                byte v = (byte) i;
                assertEquals(1, ch.write(ByteBuffer.wrap(new byte[] {v}), 0));
                model[0] = v;
            }
            for (int i = 0; i < 100_000; i++) {
                int k = (i / 2) % 64;
                int off = (i & 1) == 0 ? k : (1 << 20) - k;
                byte v = (byte) (i * 31 + 7);
                assertEquals(1, ch.write(ByteBuffer.wrap(new byte[] {v}), off));
                model[off] = v;
            }
        }
        Coffer.sh("echo 3 > /proc/sys/vm/drop_caches").ok();
        assertArrayEquals(model, Files.readAllBytes(f), "the last write of each byte, through a cold cache");
    }

    /**
     * A read on the file just extended, before the extending write reached the server: the
     * server's answer stopped at its own end of the file, the kernel took that for the end and
     * cut the size, and the byte just written read as end-of-file. The hole before it must read
     * as zeros and the byte as written, on the raw path and through libfuse.
     */
    @Test
    void aReadJustAfterAWritePastTheEndSeesTheHoleAndTheWrite() throws Exception {
        holeAndWrite(dir);
        Path other = coffer.mount(fs, options, java.util.Map.of("COFFER_JAVA_OPTS", "-Dcoffer.fuse.raw=false"));
        try {
            holeAndWrite(other.resolve(dir.getFileName().toString()));
        } finally {
            coffer.umount(other);
        }
    }

    private static void holeAndWrite(Path d) throws Exception {
        for (long off : new long[] {1 << 20, 100L << 20, (5L << 30) + 7, 1L << 40}) {
            Path f = d.resolve("extended-" + off + "-" + System.nanoTime());
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                assertEquals(1, ch.write(ByteBuffer.wrap(new byte[] {'z'}), off));
                ByteBuffer b = ByteBuffer.allocate(2);
                assertEquals(2, ch.read(b, off - 1), "at " + off);
                assertArrayEquals(new byte[] {0, 'z'}, b.array(), "at " + off);
                ByteBuffer mid = ByteBuffer.allocate(4);
                assertEquals(4, ch.read(mid, off / 2), "in the hole before " + off);
                assertArrayEquals(new byte[4], mid.array());
                assertEquals(off + 1, ch.size());
            }
            assertEquals(off + 1, Files.size(f));
        }
    }

    /** Past the largest file size: EFBIG at the write, as local file systems answer, and nothing left behind. */
    @Test
    void aWritePastTheLargestFileSizeFailsAtOnce() throws Exception {
        Path f = dir.resolve("too-far");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            java.io.IOException e = assertThrows(java.io.IOException.class,
                    () -> ch.write(ByteBuffer.wrap(new byte[] {'z'}), 1L << 62));
            assertEquals("File too large", e.getMessage());
            assertEquals(0, ch.size(), "the refused write left no size behind");
            ch.truncate(0);
            assertEquals(1, ch.write(ByteBuffer.wrap(new byte[] {'a'}), (1L << 50) - 1), "the last byte allowed");
        }
        assertEquals(1L << 50, Files.size(f));
    }

    /**
     * Names are UTF-8 on the server: one that is not is refused with EILSEQ, and nothing is made
     * under another name (it used to be stored with U+FFFD in place of the bad bytes).
     */
    @Test
    void namesThatAreNotUtf8AreRefusedAndOthersKeptAsWritten() throws Exception {
        String cd = "cd '" + dir + "' && ";
        for (String cmd : new String[] {"touch \"$(printf 'bad\\377')\"", "mkdir \"$(printf 'd\\377')\"",
                "ln -s \"$(printf 't\\377')\" link", "touch ok && mv ok \"$(printf 'm\\377')\""}) {
            Coffer.Result r = Coffer.sh(cd + cmd);
            assertTrue(r.exit() != 0, cmd);
            assertTrue(r.err().contains("Invalid or incomplete multibyte or wide character"), cmd + ": " + r.err());
        }
        assertTrue(Coffer.sh(cd + "stat \"$(printf 'bad\\377')\"").err().contains("No such file or directory"));
        String name = "é✓ ünïcödé";
        Files.writeString(dir.resolve(name), "x");
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(Set.of("ok", name), s.map(x -> x.getFileName().toString()).collect(java.util.stream.Collectors.toSet()));
        }
    }

    private static void randomReadsAndWrites(Path f) throws Exception {
        int quarter = 1 << 20;
        byte[] model = new byte[4 * quarter];
        new Random(7).nextBytes(model);
        Files.write(f, model);
        List<Thread> threads = new java.util.ArrayList<>();
        List<String> problems = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            for (int t = 0; t < 4; t++) {
                int base = t * quarter;
                long seed = t;
                threads.add(new Thread(() -> {
                    Random r = new Random(seed);
                    try {
                        for (int i = 0; i < 1500; i++) {
                            int n = new int[] {1, 100, 4096, 9000, 65536}[r.nextInt(5)];
                            int off = base + r.nextInt(quarter - n);
                            if (r.nextBoolean()) {
                                byte[] d = new byte[n];
                                r.nextBytes(d);
                                ch.write(ByteBuffer.wrap(d), off);
                                System.arraycopy(d, 0, model, off, n);
                            } else {
                                ByteBuffer b = ByteBuffer.allocate(n);
                                while (b.hasRemaining() && ch.read(b, off + b.position()) > 0) {
                                    // a short read continues where it stopped
                                }
                                if (!java.util.Arrays.equals(b.array(), 0, n, model, off, off + n)) {
                                    problems.add("read of " + n + " at " + off + " differs from what was written");
                                }
                            }
                        }
                    } catch (Exception e) {
                        problems.add(e.toString());
                    }
                }));
            }
            threads.forEach(Thread::start);
            for (Thread t : threads) {
                t.join();
            }
        }
        assertEquals(List.of(), problems);
        // Past the end: a short read, then nothing.
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(8192);
            assertEquals(4096, ch.read(b, model.length - 4096));
            assertEquals(-1, ch.read(ByteBuffer.allocate(10), model.length + 5));
        }
        Coffer.sh("echo 3 > /proc/sys/vm/drop_caches").ok();
        assertArrayEquals(model, Files.readAllBytes(f), "the file as read back through a cold cache");
    }
}
