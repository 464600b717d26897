package io.coffer.cli;

import io.coffer.client.MountDaemon;
import io.coffer.core.MountOptions;
import io.coffer.core.status.InvalException;
import io.coffer.core.status.NotSupportedException;

/** Decides how a mount daemon reaches its server: directly, or with TLS in process. */
final class ClientTransport {
    private ClientTransport() {
    }

    static MountDaemon.Target target(MountOptions opts, MountOptions.Source src) throws Exception {
        if (opts.addr == null) {
            throw new InvalException("no server address: give -o addr=HOST");
        }
        if (opts.tls) {
            throw new NotSupportedException("-o tls is not built into this version yet");
        }
        return new MountDaemon.Target(opts.addr, opts.port, null, "plaintext " + opts.addr + ":" + opts.port);
    }
}
