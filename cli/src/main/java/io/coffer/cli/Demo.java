package io.coffer.cli;

import io.coffer.client.MountDaemon;
import io.coffer.client.RemoteFs;
import io.coffer.client.RpcClient;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The main job of the README on embedded defaults: a server under /var/lib/coffer/demo on
 * 127.0.0.1:2049, a file system, a mount on /mnt/coffer-demo, a file written and read back.
 * The server and the mount stay up; the last lines say how to stop them.
 */
final class Demo {
    static final Path DATA = Path.of(System.getenv().getOrDefault("COFFER_DEMO_DIR", "/var/lib/coffer/demo"));
    static final Path MOUNT = Path.of(System.getenv().getOrDefault("COFFER_DEMO_MOUNT", "/mnt/coffer-demo"));
    static final int PORT = Integer.parseInt(System.getenv().getOrDefault("COFFER_DEMO_PORT", "2049"));

    private Demo() {
    }

    static int run() throws Exception {
        Files.createDirectories(DATA);
        Files.createDirectories(MOUNT);
        say("1. server: data in " + DATA + ", listening on 127.0.0.1:" + PORT);
        ensureServer();
        String fsId = fileSystem();
        say("2. file system: " + fsId);
        if (!MountDaemon.isMounted(MOUNT)) {
            int rc = Coffer.commandLine().execute("mount", "-o", "addr=127.0.0.1,port=" + PORT, fsId, MOUNT.toString());
            if (rc != 0) {
                return rc;
            }
        }
        say("3. mounted " + fsId + " on " + MOUNT);
        Path file = MOUNT.resolve("hello.txt");
        String text = "Hello from Coffer, written at " + java.time.Instant.now() + "\n";
        Files.writeString(file, text, StandardCharsets.UTF_8);
        String back = Files.readString(file, StandardCharsets.UTF_8);
        say("4. wrote and read back " + file + ": " + back.trim());
        if (!back.equals(text)) {
            System.err.println("coffer demo: read back different bytes");
            return 1;
        }
        say("");
        say("It stays mounted. To stop:  umount " + MOUNT + " && kill $(cat " + DATA.resolve("server.pid") + ")");
        return 0;
    }

    private static void say(String s) {
        System.out.println(s);
    }

    private static boolean reachable() {
        RpcClient rpc = new RpcClient(RpcClient.Options.of("127.0.0.1", PORT).withConnections(1).withSoft(3));
        try {
            rpc.connect(1500);
            return true;
        } catch (IOException e) {
            return false;
        } finally {
            rpc.close();
        }
    }

    private static void ensureServer() throws Exception {
        if (reachable()) {
            say("   (a server is already running)");
            return;
        }
        Path ready = DATA.resolve("server.ready");
        Files.deleteIfExists(ready);
        List<String> args = new ArrayList<>(List.of("server", "--data-dir", DATA.toString(), "--listen",
                "127.0.0.1:" + PORT, "--ready-file", ready.toString()));
        Path log = SelfCommand.logDir().resolve("demo-server.log");
        ProcessBuilder pb = new ProcessBuilder(SelfCommand.detached(SelfCommand.of(args)))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("COFFER_ROLE", "server");
        Process p = pb.start();
        long deadline = System.currentTimeMillis() + 60_000;
        while (!Files.exists(ready)) {
            if (!p.isAlive()) {
                throw new IOException("the server exited at start; see " + log);
            }
            if (System.currentTimeMillis() > deadline) {
                throw new IOException("the server did not start within 60 s; see " + log);
            }
            Thread.sleep(50);
        }
        long pid = p.toHandle().descendants().map(ProcessHandle::pid).reduce((a, b) -> b).orElse(p.pid());
        Files.writeString(DATA.resolve("server.pid"), pid + "\n");
        say("   started (pid " + pid + ", log " + log + ")");
    }

    private static String fileSystem() throws Exception {
        RpcClient rpc = new RpcClient(RpcClient.Options.of("127.0.0.1", PORT).withConnections(1));
        try {
            rpc.connect(10_000);
            RemoteFs fs = new RemoteFs(rpc);
            var list = FsCommand.JSON.readTree(fs.admin("fs-list", "{}"));
            for (var f : list) {
                if ("demo".equals(f.path("name").asText())) {
                    return f.get("id").asText();
                }
            }
            var created = FsCommand.JSON.readTree(fs.admin("fs-create", "{\"name\":\"demo\"}"));
            return created.get("id").asText();
        } finally {
            rpc.close();
        }
    }
}
