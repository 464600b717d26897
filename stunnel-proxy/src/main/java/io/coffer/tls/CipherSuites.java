package io.coffer.tls;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The cipher suites a {@link TlsPolicy} may enable: AEAD ciphers with forward secrecy only.
 *
 * <p>TLS 1.3 suites are AEAD with (EC)DHE by construction. For TLS 1.2 only ECDHE key exchange with
 * AES-GCM or ChaCha20-Poly1305 is allowed; static RSA key exchange (no forward secrecy), CBC modes
 * (padding oracles), finite-field DHE (weak groups in the wild) and anything with SHA-1 MACs are not
 * in the list, so they cannot be enabled.
 *
 * <p>Names are IANA/JSSE names; {@link #fromOpenSslName(String)} maps the OpenSSL spellings that
 * stunnel configurations use.
 */
public final class CipherSuites {
    public static final String TLS_AES_128_GCM_SHA256 = "TLS_AES_128_GCM_SHA256";
    public static final String TLS_AES_256_GCM_SHA384 = "TLS_AES_256_GCM_SHA384";
    public static final String TLS_CHACHA20_POLY1305_SHA256 = "TLS_CHACHA20_POLY1305_SHA256";

    /** TLS 1.3 suites in preference order. */
    public static final List<String> TLS13 = List.of(
            TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256);

    private static final Map<String, String> TLS12_IANA_BY_OPENSSL;

    static {
        // Preference order: ECDSA before RSA (smaller, faster certificates), AES-GCM (AES-NI) before ChaCha20.
        Map<String, String> m = new LinkedHashMap<>();
        m.put("ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
        m.put("ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
        m.put("ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
        m.put("ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        m.put("ECDHE-RSA-AES256-GCM-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
        m.put("ECDHE-RSA-CHACHA20-POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
        TLS12_IANA_BY_OPENSSL = Collections.unmodifiableMap(m);
    }

    /** TLS 1.2 suites in preference order. */
    public static final List<String> TLS12 = List.copyOf(TLS12_IANA_BY_OPENSSL.values());

    /** Every suite a policy may name, TLS 1.3 first. */
    public static final List<String> ALLOWED;

    static {
        List<String> all = new ArrayList<>(TLS13);
        all.addAll(TLS12);
        ALLOWED = List.copyOf(all);
    }

    private CipherSuites() {}

    /** Whether {@code iana} is a TLS 1.3 suite. */
    public static boolean isTls13(String iana) {
        return TLS13.contains(iana);
    }

    /** Whether the suite (IANA name) is on the allow-list. */
    public static boolean isAllowed(String iana) {
        return ALLOWED.contains(iana);
    }

    /**
     * Normalises one suite name given in IANA or OpenSSL spelling to its IANA name.
     *
     * @throws IllegalArgumentException naming the suite and why it is refused
     */
    public static String normalize(String name) {
        String n = name.trim();
        if (n.isEmpty()) {
            throw new IllegalArgumentException("empty cipher suite name");
        }
        String upper = n.toUpperCase(Locale.ROOT);
        if (ALLOWED.contains(upper)) {
            return upper;
        }
        String iana = TLS12_IANA_BY_OPENSSL.get(upper);
        if (iana != null) {
            return iana;
        }
        throw new IllegalArgumentException(refusalReason(n));
    }

    /** Maps an OpenSSL TLS 1.2 suite name to its IANA name, refusing non-AEAD or non-ECDHE suites. */
    public static String fromOpenSslName(String openSslName) {
        return normalize(openSslName);
    }

    /** The OpenSSL spelling of an allowed TLS 1.2 suite, or the IANA name itself for TLS 1.3. */
    public static String toOpenSslName(String iana) {
        for (Map.Entry<String, String> e : TLS12_IANA_BY_OPENSSL.entrySet()) {
            if (e.getValue().equals(iana)) {
                return e.getKey();
            }
        }
        return iana;
    }

    private static String refusalReason(String name) {
        String u = name.toUpperCase(Locale.ROOT);
        boolean aead = u.contains("GCM") || u.contains("CHACHA20") || u.contains("POLY1305");
        boolean ecdhe = u.contains("ECDHE");
        if (u.contains("!") || u.contains("+") || u.equals("ALL") || u.equals("DEFAULT") || u.equals("HIGH")
                || u.equals("MEDIUM") || u.equals("LOW") || u.startsWith("@")) {
            return "cipher string '" + name + "' is not accepted: name the suites explicitly (allowed: "
                    + String.join(":", TLS12_IANA_BY_OPENSSL.keySet()) + ")";
        }
        if (u.contains("CCM")) {
            return "cipher suite '" + name + "' is refused: only AES-GCM and ChaCha20-Poly1305 AEAD suites are allowed";
        }
        if (!aead) {
            return "cipher suite '" + name + "' is refused: not an AEAD cipher (CBC/stream suites are not allowed)";
        }
        if (!ecdhe) {
            return "cipher suite '" + name + "' is refused: no ECDHE key exchange, so no forward secrecy";
        }
        return "unknown cipher suite '" + name + "' (allowed: " + String.join(":", ALLOWED) + ")";
    }
}
