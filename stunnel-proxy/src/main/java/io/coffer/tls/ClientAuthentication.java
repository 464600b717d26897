package io.coffer.tls;

/** Whether a TLS server asks its clients for a certificate (mutual TLS). */
public enum ClientAuthentication {
    /** No certificate is requested. */
    NONE,
    /** A certificate is requested; a client without one is still accepted, one with a bad one is not. */
    OPTIONAL,
    /** A client without an acceptable certificate is refused during the handshake. */
    REQUIRED
}
