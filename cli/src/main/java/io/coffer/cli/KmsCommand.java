package io.coffer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code coffer kms ...}: the customer master keys of a running server's KMS. Every command that
 * takes a KEY accepts its id (a UUID), {@code alias/NAME} or its URI ({@code kms:PROVIDER/ID}).
 */
@Command(name = "kms", mixinStandardHelpOptions = true,
        description = "Manage the customer master keys (CMKs) that wrap file systems' data keys.",
        subcommands = {KmsCommand.CreateKey.class, KmsCommand.ListKeys.class, KmsCommand.DescribeKey.class,
                KmsCommand.EnableKey.class, KmsCommand.DisableKey.class, KmsCommand.RotateKey.class,
                KmsCommand.SetKeyRotation.class, KmsCommand.ScheduleKeyDeletion.class,
                KmsCommand.CancelKeyDeletion.class, KmsCommand.CreateAlias.class, KmsCommand.DeleteAlias.class,
                KmsCommand.ListAliases.class})
final class KmsCommand implements Runnable {
    private static final String KEY_HELP = "The key: its id, alias/NAME or kms:PROVIDER/ID.";

    @Override
    public void run() {
        new CommandLine(this).usage(System.err);
    }

    static JsonNode send(ServerConnection conn, String command, ObjectNode args) throws Exception {
        return FsCommand.admin(conn, "kms-" + command, args);
    }

    static ObjectNode args() {
        return FsCommand.JSON.createObjectNode();
    }

    static void printJson(JsonNode n) throws Exception {
        System.out.println(FsCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n));
    }

    /** {@code NAME} or {@code alias/NAME}: both name the alias {@code alias/NAME}. */
    static String aliasName(String name) {
        return name.startsWith("alias/") ? name : "alias/" + name;
    }

    /** What most key commands print: the key id and its state, or everything with --json. */
    abstract static class KeyCommand implements Callable<Integer> {
        @Mixin
        ServerConnection conn;

        @Option(names = "--json", description = "Print the key's whole description as JSON.")
        boolean json;

        abstract JsonNode run() throws Exception;

        String summary(JsonNode key) {
            return key.get("keyId").asText() + " " + key.get("keyState").asText();
        }

        @Override
        public Integer call() throws Exception {
            JsonNode k = run();
            if (json) {
                printJson(k);
            } else {
                System.out.println(summary(k));
            }
            return 0;
        }
    }

    @Command(name = "create-key", mixinStandardHelpOptions = true,
            description = "Create a customer-managed key and print its id.")
    static final class CreateKey extends KeyCommand {
        @Option(names = "--description", paramLabel = "TEXT", description = "What the key is for.")
        String description;

        @Option(names = "--provider", paramLabel = "NAME",
                description = "Where its material lives: local (default), pkcs11 or kmip, as configured on the server.")
        String provider;

        @Option(names = "--rotation-period-days", paramLabel = "N",
                description = "Automatic rotation every N days (1-3650, 0 = off; default 365).")
        Integer rotationDays;

        @Override
        JsonNode run() throws Exception {
            ObjectNode a = args();
            if (description != null) {
                a.put("description", description);
            }
            if (provider != null) {
                a.put("provider", provider);
            }
            if (rotationDays != null) {
                a.put("rotation-period-days", rotationDays);
            }
            return send(conn, "create-key", a);
        }

        @Override
        String summary(JsonNode key) {
            return key.get("keyId").asText();
        }
    }

    @Command(name = "list-keys", mixinStandardHelpOptions = true, description = "List every key, in any state.")
    static final class ListKeys implements Callable<Integer> {
        @Mixin
        ServerConnection conn;

        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            JsonNode r = send(conn, "list-keys", args());
            if (json) {
                printJson(r);
                return 0;
            }
            System.out.printf("%-36s  %-16s  %-8s  %-8s  %-7s  %s%n", "KEY ID", "STATE", "MANAGER", "PROVIDER",
                    "VERSION", "ALIASES / DESCRIPTION");
            for (JsonNode k : r.path("keys")) {
                List<String> aliases = new ArrayList<>();
                k.path("aliases").forEach(a -> aliases.add(a.asText()));
                String rest = String.join(",", aliases);
                String d = k.path("description").asText("");
                if (!d.isEmpty()) {
                    rest = rest.isEmpty() ? d : rest + "  " + d;
                }
                System.out.printf("%-36s  %-16s  %-8s  %-8s  %-7d  %s%n", k.get("keyId").asText(),
                        k.path("keyState").asText(), k.path("keyManager").asText(), k.path("provider").asText(),
                        k.path("currentVersion").asInt(), rest);
            }
            return 0;
        }
    }

    @Command(name = "describe-key", mixinStandardHelpOptions = true, description = "Describe one key (JSON).")
    static final class DescribeKey implements Callable<Integer> {
        @Mixin
        ServerConnection conn;

        @Parameters(paramLabel = "KEY", description = KEY_HELP)
        String key;

        @Override
        public Integer call() throws Exception {
            printJson(send(conn, "describe-key", args().put("key", key)));
            return 0;
        }
    }

    @Command(name = "enable-key", mixinStandardHelpOptions = true,
            description = "Enable a disabled key; its file systems work again within seconds.")
    static final class EnableKey extends KeyCommand {
        @Parameters(paramLabel = "KEY", description = KEY_HELP)
        String key;

        @Override
        JsonNode run() throws Exception {
            return send(conn, "enable-key", args().put("key", key));
        }
    }

    @Command(name = "disable-key", mixinStandardHelpOptions = true,
            description = "Disable a key: its file systems become inaccessible once the server's key cache TTL has passed.")
    static final class DisableKey extends KeyCommand {
        @Parameters(paramLabel = "KEY", description = KEY_HELP)
        String key;

        @Override
        JsonNode run() throws Exception {
            return send(conn, "disable-key", args().put("key", key));
        }
    }

    @Command(name = "rotate-key", mixinStandardHelpOptions = true,
            description = "Add a new key version for new data keys; older versions still unwrap.")
    static final class RotateKey extends KeyCommand {
        @Parameters(paramLabel = "KEY", description = KEY_HELP)
        String key;

        @Override
        JsonNode run() throws Exception {
            return send(conn, "rotate-key", args().put("key", key));
        }

        @Override
        String summary(JsonNode k) {
            return k.get("keyId").asText() + " version " + k.path("currentVersion").asInt();
        }
    }

    @Command(name = "set-key-rotation", mixinStandardHelpOptions = true,
            description = "Set the automatic rotation period of a key.")
    static final class SetKeyRotation extends KeyCommand {
        @Parameters(paramLabel = "KEY", description = KEY_HELP)
        String key;

        @Option(names = "--rotation-period-days", required = true, paramLabel = "N",
                description = "Rotate every N days (1-3650), or 0 to turn automatic rotation off.")
        int days;

        @Override
        JsonNode run() throws Exception {
            return send(conn, "set-key-rotation", args().put("key", key).put("rotation-period-days", days));
        }

        @Override
        String summary(JsonNode k) {
            int d = k.path("rotationPeriodDays").asInt();
            return k.get("keyId").asText() + (d == 0 ? " automatic rotation off" : " rotates every " + d + " days");
        }
    }

    @Command(name = "schedule-key-deletion", mixinStandardHelpOptions = true,
            description = "Schedule a key's deletion after a waiting period; its file systems become inaccessible "
                    + "now and their data is lost for good when the key is deleted.")
    static final class ScheduleKeyDeletion extends KeyCommand {
        @Parameters(paramLabel = "KEY", description = KEY_HELP)
        String key;

        @Option(names = "--pending-window-in-days", paramLabel = "N",
                description = "Days before the deletion (7-30, default 30); cancel-key-deletion stops it.")
        Integer days;

        @Override
        JsonNode run() throws Exception {
            ObjectNode a = args().put("key", key);
            if (days != null) {
                a.put("pending-window-days", days);
            }
            return send(conn, "schedule-key-deletion", a);
        }

        @Override
        String summary(JsonNode k) {
            return super.summary(k) + " (deleted at " + k.path("deletionDate").asText("?") + " unless cancelled)";
        }
    }

    @Command(name = "cancel-key-deletion", mixinStandardHelpOptions = true,
            description = "Cancel a scheduled deletion; the key is then disabled (enable-key to use it again).")
    static final class CancelKeyDeletion extends KeyCommand {
        @Parameters(paramLabel = "KEY", description = KEY_HELP)
        String key;

        @Override
        JsonNode run() throws Exception {
            return send(conn, "cancel-key-deletion", args().put("key", key));
        }
    }

    @Command(name = "create-alias", mixinStandardHelpOptions = true, description = "Give a key another name.")
    static final class CreateAlias implements Callable<Integer> {
        @Mixin
        ServerConnection conn;

        @Parameters(index = "0", paramLabel = "NAME", description = "The alias: alias/NAME or just NAME.")
        String name;

        @Parameters(index = "1", paramLabel = "KEY", description = KEY_HELP)
        String key;

        @Override
        public Integer call() throws Exception {
            JsonNode r = send(conn, "create-alias", args().put("alias-name", aliasName(name)).put("key", key));
            System.out.println(r.get("aliasName").asText() + " -> " + r.get("keyId").asText());
            return 0;
        }
    }

    @Command(name = "delete-alias", mixinStandardHelpOptions = true, description = "Remove an alias; the key stays.")
    static final class DeleteAlias implements Callable<Integer> {
        @Mixin
        ServerConnection conn;

        @Parameters(paramLabel = "NAME", description = "The alias: alias/NAME or just NAME.")
        String name;

        @Override
        public Integer call() throws Exception {
            send(conn, "delete-alias", args().put("alias-name", aliasName(name)));
            return 0;
        }
    }

    @Command(name = "list-aliases", mixinStandardHelpOptions = true, description = "List every alias.")
    static final class ListAliases implements Callable<Integer> {
        @Mixin
        ServerConnection conn;

        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            JsonNode r = send(conn, "list-aliases", args());
            if (json) {
                printJson(r);
                return 0;
            }
            System.out.printf("%-40s  %s%n", "ALIAS", "KEY ID");
            for (JsonNode a : r.path("aliases")) {
                System.out.printf("%-40s  %s%n", a.get("aliasName").asText(), a.get("keyId").asText());
            }
            return 0;
        }
    }
}
