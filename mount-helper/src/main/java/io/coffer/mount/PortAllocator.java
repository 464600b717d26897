package io.coffer.mount;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks a loopback port for a tunnel. Called with the state lock held: a port is taken when a
 * state file names it, so two mounts never pick the same one, and a bind test skips ports that
 * other programs hold. Another program can still bind the port between the test and the
 * proxy's own bind; the proxy then fails with "address in use" and the helper tries the next
 * port. The search starts at a random place in the range, so mounts spread over it.
 */
final class PortAllocator {
    private PortAllocator() {
    }

    /** A free port in [low, high] not in {@code taken}, or an error saying the range is full. */
    static int pick(int low, int high, Set<Integer> taken, Set<Integer> avoid) throws HelperException {
        int n = high - low + 1;
        int start = ThreadLocalRandom.current().nextInt(n);
        for (int i = 0; i < n; i++) {
            int port = low + (start + i) % n;
            if (taken.contains(port) || avoid.contains(port)) {
                continue;
            }
            if (bindable(port)) {
                return port;
            }
        }
        throw HelperException.failure("no free loopback port for the TLS tunnel in " + low + "-" + high
                + " (" + taken.size() + " used by mounts): widen port_range_* in coffer.conf");
    }

    /** Whether 127.0.0.1:port can be bound now, with the SO_REUSEADDR the proxies use. */
    static boolean bindable(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static Set<Integer> takenBy(Iterable<MountState> states) {
        Set<Integer> s = new HashSet<>();
        for (MountState st : states) {
            if (st.tlsport != null) {
                s.add(st.tlsport);
            }
        }
        return s;
    }
}
