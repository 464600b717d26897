package io.coffer.cli;

import io.coffer.server.CofferServer;

/** Where encryption at rest and TLS plug into {@code coffer server}. */
final class ServerExtensions {
    private ServerExtensions() {
    }

    static CofferServer.Config configure(CofferServer.Config config, ServerCommand cmd) throws Exception {
        if (cmd.tlsCert != null || cmd.tlsKey != null || cmd.tlsCa != null) {
            throw new IllegalArgumentException("TLS is not built into this version yet");
        }
        return config;
    }

    static void started(CofferServer server, ServerCommand cmd) {
    }
}
