package io.coffer.cli;

import io.coffer.server.CofferServer;
import io.coffer.server.transport.TransportSecurity;
import io.coffer.tls.ClientAuthentication;

/** TLS for {@code coffer server}: one port, TLS and (per file-system policy) plaintext. */
final class TlsServerSetup {
    private TlsServerSetup() {
    }

    static CofferServer.Config apply(CofferServer.Config config, ServerCommand cmd) throws Exception {
        if (cmd.tlsCert == null && cmd.tlsKey == null && cmd.tlsCa == null) {
            if (cmd.accessFile != null) {
                throw new IllegalArgumentException("--access needs TLS (--tls-cert and --tls-key)");
            }
            for (var a : cmd.listen) {
                if (!a.getAddress().isLoopbackAddress()) {
                    System.err.println("coffer server: WARNING: serving plaintext on " + a
                            + "; give --tls-cert/--tls-key to encrypt in transit");
                }
            }
            return config;
        }
        if (cmd.tlsCert == null || cmd.tlsKey == null) {
            throw new IllegalArgumentException("TLS needs both --tls-cert and --tls-key");
        }
        ClientAuthentication auth = switch (cmd.tlsClientAuth) {
            case "none" -> ClientAuthentication.NONE;
            case "optional" -> ClientAuthentication.OPTIONAL;
            case "required" -> ClientAuthentication.REQUIRED;
            default -> throw new IllegalArgumentException("--tls-client-auth must be none, optional or required");
        };
        if (auth != ClientAuthentication.NONE && cmd.tlsCa == null) {
            if (cmd.tlsClientAuth.equals("required")) {
                throw new IllegalArgumentException("--tls-client-auth required needs --tls-ca (the CA of client certificates)");
            }
            auth = ClientAuthentication.NONE;
        }
        TransportSecurity security = TransportSecurity.fromFiles(cmd.tlsCert, cmd.tlsKey, cmd.tlsCa, auth, cmd.accessFile);
        reloadOnHangup(security);
        return config.withChannelSetup(security);
    }

    /** SIGHUP re-reads the certificate and key, as stunnel does: certificates can be renewed without a restart. */
    @SuppressWarnings("restriction")
    private static void reloadOnHangup(TransportSecurity security) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> {
                try {
                    security.reload();
                } catch (Exception e) {
                    System.err.println("coffer server: reloading the TLS certificate failed, keeping the old one: " + e.getMessage());
                }
            });
        } catch (IllegalArgumentException e) {
            System.err.println("coffer server: SIGHUP cannot be handled here; certificate reload needs a restart");
        }
    }
}
