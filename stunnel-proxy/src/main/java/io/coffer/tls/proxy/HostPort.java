package io.coffer.tls.proxy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * A host and port as written in stunnel's {@code accept} and {@code connect}: {@code HOST:PORT},
 * {@code [IPV6]:PORT}, {@code IPV6:PORT} (the last colon separates the port) or a bare {@code PORT}.
 *
 * @param host a name or IP literal, without brackets
 * @param port 0 to 65535 (0 only where a listener may pick its own port)
 */
public record HostPort(String host, int port) {

    /**
     * Parses one address.
     *
     * @param defaultHost host used when only a port is given
     */
    public static HostPort parse(String text, String defaultHost) {
        String t = text.trim();
        if (t.isEmpty()) {
            throw new IllegalArgumentException("empty address");
        }
        String host;
        String port;
        if (t.startsWith("[")) {
            int close = t.indexOf(']');
            if (close < 0 || close + 1 >= t.length() || t.charAt(close + 1) != ':') {
                throw new IllegalArgumentException("malformed address '" + t + "' (expected [IPV6]:PORT)");
            }
            host = t.substring(1, close);
            port = t.substring(close + 2);
        } else {
            int colon = t.lastIndexOf(':');
            if (colon < 0) {
                host = defaultHost;
                port = t;
            } else {
                host = t.substring(0, colon);
                port = t.substring(colon + 1);
            }
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException("missing host in '" + t + "'");
        }
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + port + "' is not a port number (in '" + t + "')");
        }
        if (p < 0 || p > 65535) {
            throw new IllegalArgumentException("port " + p + " is out of range (0-65535)");
        }
        return new HostPort(host, p);
    }

    /** Whether the host is certainly this machine: {@code localhost} or a loopback literal. */
    public boolean isLoopback() {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.equals("localhost") || h.equals("localhost.localdomain") || h.equals("ip6-localhost")) {
            return true;
        }
        if (h.matches("\\d{1,3}(\\.\\d{1,3}){3}") || h.indexOf(':') >= 0) {
            try {
                return InetAddress.getByName(h).isLoopbackAddress();
            } catch (UnknownHostException e) {
                return false;
            }
        }
        return false;
    }

    /** An unresolved socket address (resolved when connecting). */
    public InetSocketAddress unresolved() {
        return InetSocketAddress.createUnresolved(host, port);
    }

    /** {@code host:port}, with brackets around IPv6 literals. */
    @Override
    public String toString() {
        return format(host, port);
    }

    static String format(String host, int port) {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    static String format(InetSocketAddress a) {
        String host = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
        int pct = host.indexOf('%');
        if (pct >= 0) {
            host = host.substring(0, pct);
        }
        return format(host, a.getPort());
    }
}
