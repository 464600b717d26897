package io.coffer.tls;

import io.netty.handler.ssl.OpenSsl;
import java.security.Provider;
import java.util.Locale;
import java.util.Optional;

/**
 * The TLS engines a {@link TlsPolicy} can run on.
 *
 * <p>The default is {@link #OPENSSL}: it was the fastest of the three in the bulk and handshake
 * benchmark recorded in {@code docs/adr/0003-tls-provider.md}. When the default is not available on
 * this machine, {@link #defaultProvider()} falls back to {@link #JDK}, which always is.
 */
public enum TlsProvider {
    /** SunJSSE, the JDK's own implementation. Always available. */
    JDK,
    /** Google's Conscrypt (BoringSSL behind the JSSE API). Needs {@code --add-opens java.base/java.net=ALL-UNNAMED}. */
    CONSCRYPT,
    /** BoringSSL through netty-tcnative, driven by Netty's own engine. */
    OPENSSL;

    /** Whether this provider's native parts load on this machine. */
    public boolean isAvailable() {
        return unavailabilityCause().isEmpty();
    }

    /** Why this provider cannot be used here, or empty if it can. */
    public Optional<Throwable> unavailabilityCause() {
        switch (this) {
            case JDK:
                return Optional.empty();
            case OPENSSL:
                return Optional.ofNullable(OpenSsl.unavailabilityCause());
            case CONSCRYPT:
                return ConscryptHolder.cause();
            default:
                throw new AssertionError(this);
        }
    }

    /** The measured default when it is available, else {@link #JDK}. */
    public static TlsProvider defaultProvider() {
        return OPENSSL.isAvailable() ? OPENSSL : JDK;
    }

    /** Parses {@code jdk}, {@code conscrypt}, {@code openssl} (case-insensitive). */
    public static TlsProvider parse(String text) {
        try {
            return valueOf(text.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown TLS provider '" + text + "' (expected jdk, conscrypt or openssl)");
        }
    }

    /** The Conscrypt JCA provider, created once; loading its native library is not free. */
    static Provider conscryptProvider() {
        return ConscryptHolder.provider();
    }

    /** Lazy holder so JDK-only users never touch Conscrypt's native library. */
    private static final class ConscryptHolder {
        private static final Provider PROVIDER;
        private static final Throwable CAUSE;

        static {
            Provider provider = null;
            Throwable cause = null;
            try {
                if (org.conscrypt.Conscrypt.isAvailable()) {
                    provider = org.conscrypt.Conscrypt.newProvider();
                } else {
                    cause = new IllegalStateException("Conscrypt native library is not available on this platform");
                }
            } catch (Throwable t) { // NoClassDefFoundError, UnsatisfiedLinkError: both mean "not here"
                cause = t;
            }
            PROVIDER = provider;
            CAUSE = cause;
        }

        static Optional<Throwable> cause() {
            return Optional.ofNullable(CAUSE);
        }

        static Provider provider() {
            if (PROVIDER == null) {
                throw new IllegalStateException("Conscrypt is not available: " + CAUSE, CAUSE);
            }
            return PROVIDER;
        }
    }
}
