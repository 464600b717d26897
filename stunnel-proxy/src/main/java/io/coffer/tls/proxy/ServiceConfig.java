package io.coffer.tls.proxy;

import io.coffer.tls.TlsPolicy;
import java.time.Duration;
import java.util.List;

/**
 * One {@code [service]} of a proxy configuration, validated.
 *
 * @param name the section name
 * @param clientMode {@code true}: accept plaintext, connect with TLS; {@code false}: accept TLS, connect plaintext
 * @param accept where to listen (port 0 picks a free port, reported when ready)
 * @param connect where to connect, tried in order (failover)
 * @param tlsPolicy the TLS side's policy (client role in client mode, server role in server mode)
 * @param idleTimeout close a connection with no traffic either way for this long; {@link Duration#ZERO} never
 * @param closeTimeout how long to wait for the TLS peer's close_notify after sending ours
 * @param connectTimeout how long a TCP connect to {@code connect} may take
 * @param delayResolve resolve {@code connect} host names for each connection rather than once at start
 * @param socketSettings {@code socket} options, in file order
 */
public record ServiceConfig(
        String name,
        boolean clientMode,
        HostPort accept,
        List<HostPort> connect,
        TlsPolicy tlsPolicy,
        Duration idleTimeout,
        Duration closeTimeout,
        Duration connectTimeout,
        boolean delayResolve,
        List<SocketSetting> socketSettings) {

    public ServiceConfig {
        connect = List.copyOf(connect);
        socketSettings = List.copyOf(socketSettings);
        if (connect.isEmpty()) {
            throw new IllegalArgumentException("service " + name + " has no connect address");
        }
    }

    /** {@code "client"} or {@code "server"}. */
    public String mode() {
        return clientMode ? "client" : "server";
    }

    /** A copy with another TLS policy (same addresses and timeouts). */
    public ServiceConfig withTlsPolicy(TlsPolicy policy) {
        return new ServiceConfig(name, clientMode, accept, connect, policy, idleTimeout, closeTimeout, connectTimeout,
                delayResolve, socketSettings);
    }
}
