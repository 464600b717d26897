package io.coffer.tls;

/**
 * A TLS context could not be built: a file is missing or unreadable, a key does not match its
 * certificate, the chosen provider is unavailable, or the policy asks for something the provider
 * cannot do. The message names the file or setting at fault.
 */
public class TlsSetupException extends Exception {
    private static final long serialVersionUID = 1L;

    public TlsSetupException(String message) {
        super(message);
    }

    public TlsSetupException(String message, Throwable cause) {
        super(message, cause);
    }
}
