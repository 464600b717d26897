package io.coffer.server.rpc;

import java.net.SocketAddress;
import java.util.UUID;

/** The state of one connection: whether it said HELLO, the client's session id, its access policy. */
final class Session {
    final SocketAddress remote;
    final String transport;
    volatile String transportLabel;
    volatile boolean helloDone;
    volatile UUID clientId;
    volatile String clientName;
    /** Protocol version agreed in HELLO. */
    volatile int version = io.coffer.core.rpc.Protocol.VERSION_MIN;
    volatile AccessPolicy policy;

    Session(SocketAddress remote, String transport, AccessPolicy policy) {
        this.remote = remote;
        this.transport = transport;
        this.policy = policy;
    }

    @Override
    public String toString() {
        return (clientName != null ? clientName + "@" : "") + remote + " (" + (transportLabel != null ? transportLabel : transport) + ", " + policy.principal() + ")";
    }
}
