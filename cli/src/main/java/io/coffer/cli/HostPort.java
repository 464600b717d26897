package io.coffer.cli;

import java.net.InetSocketAddress;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Parses HOST:PORT (IPv6 as [addr]:port). */
final class HostPort implements ITypeConverter<InetSocketAddress> {
    @Override
    public InetSocketAddress convert(String value) {
        return parse(value, -1);
    }

    static InetSocketAddress parse(String value, int defaultPort) {
        String host;
        String port;
        if (value.startsWith("[")) {
            int end = value.indexOf(']');
            if (end < 0) {
                throw new TypeConversionException("bad address '" + value + "'");
            }
            host = value.substring(1, end);
            port = value.length() > end + 1 && value.charAt(end + 1) == ':' ? value.substring(end + 2) : null;
        } else {
            int colon = value.lastIndexOf(':');
            host = colon < 0 ? value : value.substring(0, colon);
            port = colon < 0 ? null : value.substring(colon + 1);
        }
        int p;
        if (port == null || port.isEmpty()) {
            if (defaultPort < 0) {
                throw new TypeConversionException("'" + value + "' needs a port (HOST:PORT)");
            }
            p = defaultPort;
        } else {
            try {
                p = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                throw new TypeConversionException("bad port in '" + value + "'");
            }
            if (p < 0 || p > 65535) {
                throw new TypeConversionException("port out of range in '" + value + "'");
            }
        }
        if (host.isEmpty()) {
            host = "0.0.0.0";
        }
        return new InetSocketAddress(host, p);
    }
}
