package io.coffer.it;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A {@code coffer server} process started with extra environment variables, which
 * {@link Coffer.Server} cannot pass (SoftHSM2 finds its token directory through
 * {@code SOFTHSM2_CONF}, read from the server's own environment when the PKCS#11 library loads).
 */
final class EnvServer implements AutoCloseable {
    final Path dataDir;
    final int port;
    private final Path work;
    private final Map<String, String> env;
    private final List<String> extra;
    private Process process;

    EnvServer(Path work, Map<String, String> env, List<String> extra) throws IOException {
        this.work = work;
        this.dataDir = Files.createDirectories(work.resolve("data-env-" + System.nanoTime()));
        this.port = Coffer.freePort();
        this.env = Map.copyOf(env);
        this.extra = List.copyOf(extra);
    }

    String address() {
        return "127.0.0.1:" + port;
    }

    Path log() {
        return work.resolve("server-" + port + ".log");
    }

    void start() throws IOException, InterruptedException {
        Path ready = work.resolve("server-" + port + ".ready");
        Files.deleteIfExists(ready);
        List<String> cmd = new ArrayList<>(List.of(Coffer.launcher().toString(), "server", "--data-dir",
                dataDir.toString(), "--listen", address(), "--ready-file", ready.toString()));
        cmd.addAll(extra);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()));
        pb.environment().putAll(env);
        process = pb.start();
        long deadline = System.currentTimeMillis() + 60_000;
        while (!Files.exists(ready)) {
            if (!process.isAlive()) {
                fail("server exited at start: " + Files.readString(log()));
            }
            if (System.currentTimeMillis() > deadline) {
                fail("server did not become ready: " + Files.readString(log()));
            }
            Thread.sleep(20);
        }
    }

    void stop() throws InterruptedException {
        if (process == null) {
            return;
        }
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        process = null;
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
