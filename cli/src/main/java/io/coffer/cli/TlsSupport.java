package io.coffer.cli;

import io.coffer.client.RpcClient;
import io.coffer.core.status.NotSupportedException;
import java.nio.file.Path;

/** Builds the TLS pieces of clients and servers from the stunnel-proxy module's TLS policy. */
final class TlsSupport {
    private TlsSupport() {
    }

    static RpcClient.ChannelCustomizer clientCustomizer(Path ca, Path cert, Path key, String expectedName, String host,
            int port) throws NotSupportedException {
        throw new NotSupportedException("TLS is not built into this version yet");
    }
}
