package io.coffer.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real tools on the mount give byte-identical results to the same on local disk. */
class GitTarIT {
    @TempDir
    static Path work;
    static Path tarball;

    /** A tree of ~10,000 entries: files of many sizes and modes, owners, symlinks, hard links, FIFOs, empty dirs. */
    @BeforeAll
    static void makeTree() throws Exception {
        Path src = Files.createDirectories(work.resolve("src"));
        SplittableRandom rnd = new SplittableRandom(10_000);
        String[] modes = {"rw-r--r--", "rwxr-xr-x", "rw-------", "r--r--r--", "rwxrwxr-x"};
        int n = 0;
        for (int d = 0; d < 100; d++) {
            Path dir = Files.createDirectories(src.resolve("d" + d / 10).resolve("sub" + d));
            for (int i = 0; i < 98; i++) {
                Path f = dir.resolve("file-" + i + (i % 7 == 0 ? ".bin" : ".txt"));
                int size = rnd.nextInt(10) == 0 ? rnd.nextInt(300_000) : rnd.nextInt(3000);
                byte[] b = new byte[size];
                rnd.nextBytes(b);
                Files.write(f, b);
                Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(modes[rnd.nextInt(modes.length)]));
                n++;
            }
            Files.createSymbolicLink(dir.resolve("link-to-0"), Path.of("file-0.bin"));
            Files.createLink(dir.resolve("hard-to-1"), dir.resolve("file-1.txt"));
            Files.createDirectories(dir.resolve("empty"));
            n += 3;
        }
        Coffer.sh("mkfifo " + src.resolve("d0/fifo") + " && chown -R 1234:5678 " + src.resolve("d3")
                + " && touch -h -d '2020-02-02 02:02:02.123456789' " + src.resolve("d1/sub10/link-to-0")).ok();
        assertTrue(n >= 10_000);
        tarball = work.resolve("tree.tar");
        Coffer.sh("tar -C " + src + " --numeric-owner -cf " + tarball + " .").ok();
    }

    /** tar's view of a tree, deterministic: same bytes for same contents, modes, owners, times, links. */
    static String tarDigest(Path dir) throws Exception {
        return Coffer.sh("cd " + dir + " && tar --sort=name --numeric-owner --format=gnu -cf - . | sha256sum").ok().out()
                .trim();
    }

    @Test
    void tarExtractAndCreateMatchLocalDisk() throws Exception {
        Coffer.requireFuse();
        try (Coffer c = new Coffer(work)) {
            Coffer.Server server = c.server();
            Path mnt = c.mount(server.createFs(Coffer.defaultFsArgs()), "addr=127.0.0.1,port=" + server.port);
            Path local = Files.createDirectories(work.resolve("local-x"));
            Path remote = Files.createDirectories(mnt.resolve("x"));
            Coffer.sh("tar -C " + local + " -xf " + tarball).ok();
            Coffer.sh("tar -C " + remote + " -xf " + tarball).ok();
            Coffer.afterCacheTimeout();
            assertEquals(tarDigest(local), tarDigest(remote), "tar c of the extracted trees differ");
            assertEquals(Coffer.sh("cd " + local + " && find . | sort | wc -l").out(),
                    Coffer.sh("cd " + remote + " && find . | sort | wc -l").out());
            Coffer.sh("rm -rf " + remote).ok();
            try (var s = Files.list(mnt)) {
                assertEquals(0, s.count(), "rm -rf left something behind");
            }
            c.umount(mnt);
        }
    }

    static String git(Path dir, String args) throws Exception {
        String env = "GIT_AUTHOR_NAME=Test GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=Test "
                + "GIT_COMMITTER_EMAIL=t@example.invalid GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' "
                + "GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' ";
        return Coffer.sh("cd " + dir + " && " + env + "git -c init.defaultBranch=main -c core.autocrlf=false " + args)
                .ok().out().trim();
    }

    @Test
    void gitCommitOfARealTreeMatchesLocalDisk() throws Exception {
        Coffer.requireFuse();
        try (Coffer c = new Coffer(work)) {
            Coffer.Server server = c.server();
            Path mnt = c.mount(server.createFs(Coffer.defaultFsArgs()), "addr=127.0.0.1,port=" + server.port);
            String[] heads = new String[2];
            Path[] dirs = {Files.createDirectories(work.resolve("git-local")), Files.createDirectories(mnt.resolve("git"))};
            for (int i = 0; i < 2; i++) {
                // This project's own sources at HEAD: a real tree of code, docs and scripts.
                Coffer.sh("git -C " + Coffer.home() + " archive HEAD | tar -x -C " + dirs[i]).ok();
                git(dirs[i], "init -q");
                git(dirs[i], "add -A");
                git(dirs[i], "commit -q -m snapshot");
                heads[i] = git(dirs[i], "rev-parse HEAD");
                assertEquals("", git(dirs[i], "status --porcelain"), "a fresh commit leaves a clean tree");
                git(dirs[i], "fsck --strict --no-progress");
            }
            assertEquals(heads[0], heads[1], "same tree, same commit id");
            // A change, a branch and a checkout back, as a developer would.
            Files.writeString(dirs[1].resolve("pom.xml"), "changed\n", java.nio.file.StandardOpenOption.APPEND);
            assertEquals("M pom.xml", git(dirs[1], "status --porcelain"));
            git(dirs[1], "checkout -q -- pom.xml");
            assertEquals("", git(dirs[1], "status --porcelain"));
            c.umount(mnt);
        }
    }
}
