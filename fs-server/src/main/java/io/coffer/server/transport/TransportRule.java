package io.coffer.server.transport;

import io.coffer.core.status.InvalException;

/**
 * A file system's transport policy: who may reach it without TLS. EFS's "deny non-secure
 * transport" bucket-policy condition is {@link #TLS_REQUIRED}.
 */
public enum TransportRule {
    /** Plaintext is refused from everywhere, loopback included. */
    TLS_REQUIRED("tls-required"),
    /** Plaintext only from the server's own machine (the default). */
    LOOPBACK_PLAINTEXT("loopback-plaintext"),
    /** Plaintext from anywhere (trusted networks only). */
    PLAINTEXT_ALLOWED("plaintext-allowed");

    private final String word;

    TransportRule(String word) {
        this.word = word;
    }

    public String word() {
        return word;
    }

    public static TransportRule parse(String s) throws InvalException {
        for (TransportRule r : values()) {
            if (r.word.equals(s)) {
                return r;
            }
        }
        throw new InvalException("unknown transport policy '" + s + "' (expected tls-required, loopback-plaintext or plaintext-allowed)");
    }

    /** Whether a plaintext connection from a loopback (or other) address may use the file system. */
    public boolean allowsPlaintext(boolean loopback) {
        return this == PLAINTEXT_ALLOWED || (this == LOOPBACK_PLAINTEXT && loopback);
    }
}
