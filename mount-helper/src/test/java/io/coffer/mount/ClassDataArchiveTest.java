package io.coffer.mount;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a watchdog that died while building the proxy's class archive leaves behind, and who clears it. */
class ClassDataArchiveTest {
    @TempDir
    Path cds;

    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void stopAll() {
        started.forEach(Process::destroyForcibly);
    }

    private Process start(String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).start();
        started.add(p);
        return p;
    }

    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor(10, TimeUnit.SECONDS);
        return p.pid();
    }

    private Path training(long owner, int n) throws IOException {
        Path d = Files.createDirectories(cds.resolve("training-" + owner + "-" + n));
        Files.writeString(d.resolve("proxy.conf"), "foreground = yes\n");
        Files.writeString(d.resolve("log"), "");
        return d;
    }

    @Test
    void aDeadWatchdogsTrainingIsRemovedAndItsProxyStopped() throws Exception {
        Path leftEarly = training(deadPid(), 1);
        Path leftRunning = training(deadPid(), 2);
        Process proxy = start("bash", "-c", "while :; do sleep 1; done", leftRunning.toString());
        Files.writeString(leftRunning.resolve("pid"), proxy.pid() + "\n");
        Path ours = training(ProcessHandle.current().pid(), 3);
        Path archive = Files.writeString(cds.resolve("proxy-0123456789abcdef.jsa"), "archive");

        ClassDataArchive.sweepAbandoned(cds);

        assertFalse(Files.exists(leftEarly), "a training that never started its proxy");
        assertFalse(Files.exists(leftRunning), "a training whose proxy still ran");
        assertTrue(proxy.waitFor(10, TimeUnit.SECONDS), "the proxy it left running is stopped");
        assertTrue(Files.exists(ours.resolve("proxy.conf")), "a living watchdog's training is its own business");
        assertTrue(Files.exists(archive), "archives are not trainings");
    }

    @Test
    void aPidReusedByAnotherProcessIsNotStopped() throws Exception {
        Path left = training(deadPid(), 1);
        Process stranger = start("sleep", "600");
        Files.writeString(left.resolve("pid"), stranger.pid() + "\n");

        ClassDataArchive.sweepAbandoned(cds);

        assertFalse(Files.exists(left));
        assertFalse(stranger.waitFor(500, TimeUnit.MILLISECONDS), "its command line does not name the training");
        assertTrue(stranger.isAlive());
    }

    @Test
    void aMissingDirectoryIsNoError() {
        ClassDataArchive.sweepAbandoned(cds.resolve("absent"));
        assertFalse(Files.exists(cds.resolve("absent")));
    }
}
