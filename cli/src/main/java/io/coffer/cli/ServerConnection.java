package io.coffer.cli;

import io.coffer.client.RemoteFs;
import io.coffer.client.RpcClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options every administrative command shares: which server, and how to talk TLS to it. */
final class ServerConnection {
    @Option(names = "--server", required = true, paramLabel = "HOST:PORT", converter = HostPort.class,
            description = "The Coffer server to talk to.")
    InetSocketAddress server;

    @Option(names = "--tls", description = "Connect with TLS (implied by --tls-ca).")
    boolean tls;

    @Option(names = "--tls-ca", paramLabel = "FILE", description = "CA certificate(s) to verify the server with.")
    Path tlsCa;

    @Option(names = "--tls-cert", paramLabel = "FILE", description = "Client certificate for mutual TLS.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE", description = "Key of the client certificate.")
    Path tlsKey;

    @Option(names = "--tls-name", paramLabel = "NAME", description = "Name the server's certificate must carry (default: the host).")
    String tlsName;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "15",
            description = "How long to wait for the server (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    /** Connects and returns a client; the caller closes its RPC client. */
    RemoteFs connect() throws IOException {
        RpcClient.ChannelCustomizer customizer = null;
        if (tls || tlsCa != null) {
            customizer = TlsSupport.clientCustomizer(tlsCa, tlsCert, tlsKey,
                    tlsName != null ? tlsName : server.getHostString(), server.getHostString(), server.getPort());
        }
        RpcClient rpc = new RpcClient(new RpcClient.Options(server.getHostString(), server.getPort(), 1, false,
                timeoutSeconds, customizer, "coffer-admin"));
        try {
            rpc.connect(timeoutSeconds * 1000L);
        } catch (IOException e) {
            rpc.close();
            throw e;
        }
        return new RemoteFs(rpc);
    }
}
