package io.coffer.tls;

import java.util.Locale;

/**
 * The TLS protocol versions Coffer speaks. Anything older than TLS 1.2 is not representable, so
 * a policy cannot be built that allows it.
 */
public enum TlsProtocol {
    TLS_1_2("TLSv1.2"),
    TLS_1_3("TLSv1.3");

    private final String javaName;

    TlsProtocol(String javaName) {
        this.javaName = javaName;
    }

    /** The name JSSE, Conscrypt and Netty's OpenSSL engine use, e.g. {@code TLSv1.3}. */
    public String javaName() {
        return javaName;
    }

    /**
     * Parses {@code TLSv1.2}, {@code TLSv1.3} (case-insensitive, also {@code TLS1.2} and
     * {@code 1.2}).
     *
     * @throws IllegalArgumentException for older versions (with a message saying they are
     *     refused as insecure) and for unknown names
     */
    public static TlsProtocol parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT).replace("tlsv", "").replace("tls", "");
        switch (t) {
            case "1.2":
                return TLS_1_2;
            case "1.3":
                return TLS_1_3;
            case "1":
            case "1.0":
            case "1.1":
                throw new IllegalArgumentException(text.trim() + " is refused as insecure; TLSv1.2 is the minimum");
            default:
                if (t.startsWith("sslv")) {
                    throw new IllegalArgumentException(text.trim() + " is refused as insecure; TLSv1.2 is the minimum");
                }
                throw new IllegalArgumentException("unknown TLS version '" + text.trim()
                        + "' (expected TLSv1.2 or TLSv1.3)");
        }
    }
}
