package io.coffer.tls.proxy;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A snapshot of one service's counters.
 *
 * <p>Byte counts are plaintext payload, seen from the accepting side: {@code bytesIn} was read from
 * accepted connections and forwarded to {@code connect}; {@code bytesOut} came back from
 * {@code connect} and was written to accepted connections. For a client-mode service in front of a
 * mount, "in" is what the file-system client sent, "out" what it received.
 *
 * @param name service name
 * @param mode {@code client} or {@code server}
 * @param accept the bound listening address, {@code host:port}
 * @param connect the connect targets
 * @param provider the TLS provider
 * @param connectionsTotal connections accepted since start
 * @param connectionsActive connections open now
 * @param connectionsFailed connections that ended before carrying data: connect or TLS handshake failures
 * @param bytesIn see above
 * @param bytesOut see above
 * @param lastProtocol TLS version of the last completed handshake
 * @param lastCipherSuite cipher suite of the last completed handshake
 * @param lastPeer subject of the peer certificate of the last handshake, if it presented one
 * @param lastHandshakeAt when the last handshake completed
 * @param certificateSubject subject of this service's own certificate, if it has one
 * @param certificateNotAfter expiry of this service's own certificate
 * @param reloads successful reloads of certificates and keys
 * @param lastReloadAt when the last reload was attempted
 * @param lastReloadError why the last reload failed, empty if it succeeded
 */
public record ServiceStatus(
        String name,
        String mode,
        String accept,
        List<String> connect,
        String provider,
        long connectionsTotal,
        long connectionsActive,
        long connectionsFailed,
        long bytesIn,
        long bytesOut,
        Optional<String> lastProtocol,
        Optional<String> lastCipherSuite,
        Optional<String> lastPeer,
        Optional<Instant> lastHandshakeAt,
        Optional<String> certificateSubject,
        Optional<Instant> certificateNotAfter,
        long reloads,
        Optional<Instant> lastReloadAt,
        Optional<String> lastReloadError) {

    public ServiceStatus {
        connect = List.copyOf(connect);
    }

    void appendJson(StringBuilder sb) {
        sb.append('{');
        Json.field(sb, "name", name).append(',');
        Json.field(sb, "mode", mode).append(',');
        Json.field(sb, "accept", accept).append(',');
        sb.append("\"connect\":[");
        for (int i = 0; i < connect.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            Json.string(sb, connect.get(i));
        }
        sb.append("],");
        Json.field(sb, "provider", provider).append(',');
        Json.field(sb, "connectionsTotal", connectionsTotal).append(',');
        Json.field(sb, "connectionsActive", connectionsActive).append(',');
        Json.field(sb, "connectionsFailed", connectionsFailed).append(',');
        Json.field(sb, "bytesIn", bytesIn).append(',');
        Json.field(sb, "bytesOut", bytesOut).append(',');
        Json.field(sb, "tlsVersion", lastProtocol.orElse(null)).append(',');
        Json.field(sb, "cipherSuite", lastCipherSuite.orElse(null)).append(',');
        Json.field(sb, "peer", lastPeer.orElse(null)).append(',');
        Json.field(sb, "lastHandshakeAt", lastHandshakeAt.map(Instant::toString).orElse(null)).append(',');
        Json.field(sb, "certificateSubject", certificateSubject.orElse(null)).append(',');
        Json.field(sb, "certificateNotAfter", certificateNotAfter.map(Instant::toString).orElse(null)).append(',');
        Json.field(sb, "reloads", reloads).append(',');
        Json.field(sb, "lastReloadAt", lastReloadAt.map(Instant::toString).orElse(null)).append(',');
        Json.field(sb, "lastReloadError", lastReloadError.orElse(null));
        sb.append('}');
    }
}
