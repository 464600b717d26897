package io.coffer.cli;

import io.coffer.client.MountDaemon;
import io.coffer.core.MountOptions;
import io.coffer.core.status.InvalException;
import java.nio.file.Path;

/** Decides how a mount daemon reaches its server: plaintext, or TLS in this process (proxy=none). */
final class ClientTransport {
    private ClientTransport() {
    }

    static MountDaemon.Target target(MountOptions opts, MountOptions.Source src) throws Exception {
        if (opts.addr == null) {
            throw new InvalException("no server address: give -o addr=HOST");
        }
        if (!opts.tls) {
            return new MountDaemon.Target(opts.addr, opts.port, null, "plaintext " + opts.addr + ":" + opts.port);
        }
        if (opts.proxy != MountOptions.Proxy.NONE) {
            throw new InvalException("-o tls with proxy=" + opts.proxy.name().toLowerCase()
                    + " runs through the mount helper's tunnel (coffer mount / mount -t coffer); the daemon itself does TLS with proxy=none");
        }
        String expected = opts.checkHost != null ? opts.checkHost : opts.addr;
        var customizer = TlsSupport.clientCustomizer(opts.caFile == null ? null : Path.of(opts.caFile),
                opts.certFile == null ? null : Path.of(opts.certFile), opts.keyFile == null ? null : Path.of(opts.keyFile),
                expected, opts.addr, opts.port, opts.verify, opts.tlsProvider);
        return new MountDaemon.Target(opts.addr, opts.port, customizer, "in-process TLS to " + opts.addr + ":" + opts.port);
    }
}
