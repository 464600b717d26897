package io.coffer.tls;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Matches expected names against a certificate's subject alternative names (RFC 6125).
 *
 * <p>Only SANs count: the subject CN is not consulted, since every certificate Coffer issues carries
 * its names as SANs and CN fallback is what lets a mis-issued certificate pass. A wildcard stands for
 * exactly one whole left-most label. IP literals match IP-address SANs only.
 */
final class HostnameMatcher {
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final int SAN_DNS = 2;
    private static final int SAN_IP = 7;

    private HostnameMatcher() {}

    static boolean isIpLiteral(String name) {
        String n = stripBrackets(name);
        return IPV4.matcher(n).matches() || (n.indexOf(':') >= 0 && n.matches("[0-9A-Fa-f:.%a-zA-Z0-9]+"));
    }

    /** Parses an IP literal without ever asking DNS. */
    static InetAddress parseIpLiteral(String name) {
        String n = stripBrackets(name);
        if (!isIpLiteral(n)) {
            throw new IllegalArgumentException("not an IP address: " + name);
        }
        try {
            return InetAddress.getByName(n);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP address: " + name, e);
        }
    }

    private static String stripBrackets(String name) {
        String n = name.trim();
        if (n.startsWith("[") && n.endsWith("]")) {
            return n.substring(1, n.length() - 1);
        }
        return n;
    }

    static List<String> dnsNames(X509Certificate cert) {
        return sans(cert, SAN_DNS);
    }

    static List<String> ipAddresses(X509Certificate cert) {
        List<String> out = new ArrayList<>();
        for (String ip : sans(cert, SAN_IP)) {
            try {
                out.add(InetAddress.getByName(ip).getHostAddress());
            } catch (UnknownHostException e) {
                out.add(ip);
            }
        }
        return out;
    }

    static List<String> sans(X509Certificate cert, int type) {
        List<String> out = new ArrayList<>();
        Collection<List<?>> all;
        try {
            all = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return out;
        }
        if (all == null) {
            return out;
        }
        for (List<?> san : all) {
            if (san.size() >= 2 && san.get(0) instanceof Integer && (Integer) san.get(0) == type
                    && san.get(1) instanceof String) {
                out.add((String) san.get(1));
            }
        }
        return out;
    }

    /** Whether the certificate carries {@code expected} (a DNS name or an IP literal) as a SAN. */
    static boolean matches(X509Certificate cert, String expected) {
        if (isIpLiteral(expected)) {
            InetAddress want = parseIpLiteral(expected);
            for (String ip : sans(cert, SAN_IP)) {
                try {
                    if (InetAddress.getByName(ip).equals(want)) {
                        return true;
                    }
                } catch (UnknownHostException e) {
                    // an unparsable SAN matches nothing
                }
            }
            return false;
        }
        String want = normalizeDns(expected);
        for (String san : sans(cert, SAN_DNS)) {
            if (dnsMatches(normalizeDns(san), want)) {
                return true;
            }
        }
        return false;
    }

    private static String normalizeDns(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    static boolean dnsMatches(String pattern, String host) {
        if (pattern.isEmpty() || host.isEmpty()) {
            return false;
        }
        if (!pattern.startsWith("*.")) {
            return pattern.equals(host);
        }
        String suffix = pattern.substring(1); // ".example.com"
        // A wildcard must leave at least two labels of its own ("*.com" matches nothing).
        if (suffix.indexOf('.', 1) < 0) {
            return false;
        }
        if (!host.endsWith(suffix)) {
            return false;
        }
        String label = host.substring(0, host.length() - suffix.length());
        return !label.isEmpty() && label.indexOf('.') < 0;
    }
}
