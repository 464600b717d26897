package io.coffer.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code coffer fs set-policy FS-ID --transport RULE}: who may use a file system without TLS. */
@Command(name = "set-policy", mixinStandardHelpOptions = true,
        description = "Set a file system's transport policy: tls-required (deny non-secure transport), loopback-plaintext (default) or plaintext-allowed.")
final class FsPolicyCommand implements Callable<Integer> {
    @Mixin
    ServerConnection conn;

    @Parameters(paramLabel = "FS-ID")
    String id;

    @Option(names = "--transport", required = true, paramLabel = "RULE",
            description = "tls-required, loopback-plaintext or plaintext-allowed")
    String transport;

    @Override
    public Integer call() throws Exception {
        io.coffer.server.transport.TransportRule.parse(transport);
        ObjectNode a = FsCommand.JSON.createObjectNode().put("id", id);
        a.putObject("policy").put("transport", transport);
        FsCommand.admin(conn, "fs-set-policy", a);
        return 0;
    }
}
