package io.coffer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.coffer.client.RemoteFs;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code coffer fs create|list|describe|delete}: file systems of a running server. */
@Command(name = "fs", mixinStandardHelpOptions = true, description = "Create, list, describe and delete file systems.",
        subcommands = {FsCommand.Create.class, FsCommand.ListCmd.class, FsCommand.Describe.class, FsCommand.Delete.class})
final class FsCommand implements Runnable {
    static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.err);
    }

    static JsonNode admin(ServerConnection conn, String command, ObjectNode args) throws Exception {
        RemoteFs fs = conn.connect();
        try {
            return JSON.readTree(fs.admin(command, JSON.writeValueAsString(args)));
        } finally {
            fs.rpc().close();
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a file system and print its id.")
    static final class Create implements Callable<Integer> {
        @Mixin
        ServerConnection conn;

        @Option(names = "--name", description = "A name to remember it by.")
        String name;

        @Option(names = "--encrypted", negatable = true, defaultValue = "true", fallbackValue = "true",
                description = "Encrypt data and names at rest (default: ${DEFAULT-VALUE}).")
        boolean encrypted;

        @Option(names = "--kms-key", paramLabel = "KEY", description = "CMK for the data key: alias/NAME, key id or URI (default: the service-managed key).")
        String kmsKey;

        @Option(names = "--chunk-size", paramLabel = "BYTES", description = "Chunk size, a power of two from 4096 to 1048576 (default 65536).")
        Integer chunkSize;

        @Option(names = "--json", description = "Print the whole description as JSON.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            ObjectNode a = JSON.createObjectNode();
            if (name != null) {
                a.put("name", name);
            }
            a.put("encrypted", encrypted);
            if (kmsKey != null) {
                a.put("kmsKey", kmsKey);
            }
            if (chunkSize != null) {
                a.put("chunkSize", chunkSize);
            }
            JsonNode r = admin(conn, "fs-create", a);
            System.out.println(json ? JSON.writerWithDefaultPrettyPrinter().writeValueAsString(r) : r.get("id").asText());
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List file systems.")
    static final class ListCmd implements Callable<Integer> {
        @Mixin
        ServerConnection conn;

        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            JsonNode r = admin(conn, "fs-list", JSON.createObjectNode());
            if (json) {
                System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(r));
                return 0;
            }
            System.out.printf("%-12s %-10s %-9s %-38s %s%n", "ID", "STATE", "ENCRYPTED", "KMS KEY", "NAME");
            for (JsonNode f : r) {
                System.out.printf("%-12s %-10s %-9s %-38s %s%n", f.get("id").asText(), f.path("state").asText(),
                        f.path("encrypted").asBoolean() ? "yes" : "no", f.path("kmsKeyId").asText("-"),
                        f.path("name").asText(""));
            }
            return 0;
        }
    }

    @Command(name = "describe", mixinStandardHelpOptions = true, description = "Describe one file system (JSON).")
    static final class Describe implements Callable<Integer> {
        @Mixin
        ServerConnection conn;

        @Parameters(paramLabel = "FS-ID")
        String id;

        @Override
        public Integer call() throws Exception {
            ObjectNode a = JSON.createObjectNode().put("id", id);
            System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(admin(conn, "fs-describe", a)));
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a file system and all its data.")
    static final class Delete implements Callable<Integer> {
        @Mixin
        ServerConnection conn;

        @Parameters(paramLabel = "FS-ID")
        String id;

        @Override
        public Integer call() throws Exception {
            admin(conn, "fs-delete", JSON.createObjectNode().put("id", id));
            return 0;
        }
    }
}
