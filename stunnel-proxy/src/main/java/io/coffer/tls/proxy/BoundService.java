package io.coffer.tls.proxy;

import java.net.InetSocketAddress;

/**
 * A service whose listener is bound.
 *
 * @param name the service name
 * @param mode {@code client} or {@code server}
 * @param address the bound address (with the chosen port when {@code accept} asked for port 0)
 */
public record BoundService(String name, String mode, InetSocketAddress address) {

    /** {@code host:port} as printed in the READY line, IPv6 in brackets. */
    public String hostPort() {
        return HostPort.format(address);
    }

    public int port() {
        return address.getPort();
    }
}
