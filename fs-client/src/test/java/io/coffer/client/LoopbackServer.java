package io.coffer.client;

import io.coffer.server.CofferServer;
import io.coffer.server.fs.FixedKeyCiphers;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/** A real Coffer server on 127.0.0.1 with a fixed data key, for the client's tests. */
public final class LoopbackServer {
    private LoopbackServer() {
    }

    /** Serves {@code dataDir} on {@code port} (0: any free port); the same directory and port restart it. */
    public static CofferServer start(Path dataDir, int port) throws IOException {
        return new CofferServer(CofferServer.Config.plain(dataDir, new InetSocketAddress("127.0.0.1", port))
                .withCiphers(d -> new FixedKeyCiphers(), false));
    }
}
