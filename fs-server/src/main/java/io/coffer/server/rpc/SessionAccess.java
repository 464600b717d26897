package io.coffer.server.rpc;

import io.netty.util.AttributeKey;

/** Lets handlers added before the codec (TLS) update the connection's access policy once the peer is known. */
public final class SessionAccess {
    static final AttributeKey<Session> KEY = AttributeKey.valueOf("coffer.session");

    private SessionAccess() {
    }

    /** Replaces the access policy of the connection on {@code ch}. */
    public static void setPolicy(io.netty.channel.Channel ch, AccessPolicy policy) {
        Session s = ch.attr(KEY).get();
        if (s != null) {
            s.policy = policy;
        }
    }

    /** Sets the transport label shown in logs ("tls1.3", "plaintext"). */
    public static void setTransport(io.netty.channel.Channel ch, String transport) {
        Session s = ch.attr(KEY).get();
        if (s != null) {
            s.transportLabel = transport;
        }
    }
}
