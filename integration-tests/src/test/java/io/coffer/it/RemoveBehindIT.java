package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Unlinks the daemon answers before the server does (CofferFuse.unlinkBehind): whatever comes
 * after them on the same mount sees them done, another mount sees them on the server, and a
 * remove the server refuses after the unlink was answered brings the name back and fails the
 * directory's next fsync.
 */
class RemoveBehindIT {
    @TempDir
    Path work;

    private static String python(String script, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("/usr/bin/python3", "-c", script));
        cmd.addAll(List.of(args));
        Coffer.Result r = Coffer.run(java.time.Duration.ofMinutes(5), cmd).ok();
        return r.out().trim();
    }

    @Test
    void laterCallsOnTheMountAndTheOtherMountSeeTheUnlinksDone() throws Exception {
        Coffer.requireFuse();
        try (Coffer c = new Coffer(work)) {
            Path[] ab = TwoMountsIT.twoMounts(c);
            Path a = ab[0];
            Path b = ab[1];
            // Each name is looked up (so the daemon may answer its unlink itself), removed, and
            // then the directory is listed at once: the listing must not show any of them. Then
            // one name is removed and made again 300 times with O_EXCL: a create that reached the
            // server before the remove of the same name would fail with EEXIST.
            String out = python("""
                    import os, sys
                    d = sys.argv[1]
                    os.mkdir(d + '/many')
                    for i in range(2000):
                        open('%s/many/f%d' % (d, i), 'w').close()
                    for i in range(2000):
                        os.stat('%s/many/f%d' % (d, i))
                    for i in range(2000):
                        os.unlink('%s/many/f%d' % (d, i))
                    print('left', len(os.listdir(d + '/many')))
                    p = d + '/same'
                    open(p, 'w').close()
                    for i in range(300):
                        os.stat(p)
                        os.unlink(p)
                        fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                        os.write(fd, str(i).encode())
                        os.close(fd)
                    print('same', open(p).read())
                    """, a.toString());
            assertEquals("left 0\nsame 299", out);

            // rm -rf of a tree, and removes still in flight when the mount goes away.
            python("""
                    import os, sys
                    d = sys.argv[1]
                    for j in range(20):
                        os.makedirs('%s/tree/d%d/sub' % (d, j))
                        for i in range(50):
                            open('%s/tree/d%d/sub/f%d' % (d, j, i), 'w').write('x' * i)
                    os.mkdir(d + '/last')
                    for i in range(500):
                        open('%s/last/f%d' % (d, i), 'w').close()
                    """, a.toString());
            Coffer.sh("rm -rf '" + a.resolve("tree") + "'").ok();
            assertFalse(Files.exists(a.resolve("tree")));
            python("""
                    import os, sys
                    d = sys.argv[1]
                    for i in range(500):
                        os.unlink('%s/last/f%d' % (d, i))
                    """, a.toString());
            c.umount(a);

            Coffer.afterCacheTimeout();
            assertFalse(Files.exists(b.resolve("tree")), "rm -rf seen by the other mount");
            try (var s = Files.list(b.resolve("many"))) {
                assertEquals(0, s.count(), "unlinks seen by the other mount");
            }
            try (var s = Files.list(b.resolve("last"))) {
                assertEquals(0, s.count(), "unlinks answered just before the unmount reached the server");
            }
            assertEquals("299", Files.readString(b.resolve("same")));
            c.umount(b);
        }
    }

    @Test
    void aRemoveTheServerRefusesLateBringsTheNameBackAndFailsTheDirectorysFsync() throws Exception {
        refusedRemove("", "unlink OK\nfsync EACCES\nfsync-again OK\nexists True\n",
                "the unlink was answered early, the server refused it, and the directory's fsync says so once");
    }

    @Test
    void onADirsyncMountTheUnlinkItselfGetsTheServersRefusal() throws Exception {
        refusedRemove(",dirsync", "unlink EACCES\nfsync OK\nfsync-again OK\nexists True\n",
                "dirsync: every directory change waits for the server");
    }

    private void refusedRemove(String extraOptions, String expected, String why) throws Exception {
        Coffer.requireFuse();
        // The unprivileged caller must reach the mount points under the test's directory.
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (Coffer c = new Coffer(work)) {
            Path[] ab = TwoMountsIT.twoMounts(c, extraOptions);
            Path a = ab[0];
            Path b = ab[1];
            Path d = Files.createDirectory(a.resolve("shared"));
            Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxrwxrwx"));
            Files.writeString(d.resolve("f"), "keep me\n");
            // Let every cached entry and attribute expire, so that the caller's own stats below
            // fetch them: the kernel and the daemon then both hold the directory as writable by
            // anyone for the next second.
            Coffer.afterCacheTimeout();
            String script = """
                    import errno, os, sys
                    d = sys.argv[1]
                    os.stat(d)
                    os.stat(d + '/f')
                    print('ready', flush=True)
                    sys.stdin.readline()
                    def attempt(what, f):
                        try:
                            f()
                            print(what, 'OK', flush=True)
                        except OSError as e:
                            print(what, errno.errorcode[e.errno], flush=True)
                    attempt('unlink', lambda: os.unlink(d + '/f'))
                    fd = os.open(d, os.O_RDONLY)
                    attempt('fsync', lambda: os.fsync(fd))
                    attempt('fsync-again', lambda: os.fsync(fd))
                    print('exists', os.path.exists(d + '/f'), flush=True)
                    """;
            Process p = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    "/usr/bin/python3", "-c", script, d.toString()).redirectErrorStream(true).start();
            BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("ready", in.readLine());
            // Another client takes away everyone's write permission on the directory; this mount
            // does not know yet, so its kernel lets the unlink through and the daemon predicts it.
            Files.setPosixFilePermissions(b.resolve("shared"), PosixFilePermissions.fromString("rwxr-xr-x"));
            try (Writer w = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8)) {
                w.write("go\n");
            }
            StringBuilder got = new StringBuilder();
            for (String line; (line = in.readLine()) != null; ) {
                got.append(line).append('\n');
            }
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(expected, got.toString(), why);
            assertEquals("keep me\n", Files.readString(b.resolve("shared/f")), "the file is still there");
            assertEquals("keep me\n", Files.readString(d.resolve("f")), "and shows again on the mount that tried");
            c.umount(a);
            c.umount(b);
        }
    }
}
