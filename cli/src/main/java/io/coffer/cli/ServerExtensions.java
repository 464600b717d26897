package io.coffer.cli;

import io.coffer.server.CofferServer;
import io.coffer.server.crypto.KmsSetup;

/** Where encryption at rest and TLS plug into {@code coffer server}. */
final class ServerExtensions {
    private ServerExtensions() {
    }

    static CofferServer.Config configure(CofferServer.Config config, ServerCommand cmd) throws Exception {
        config = TlsServerSetup.apply(config, cmd);
        return withKms(config, cmd);
    }

    /** Encryption at rest: the KMS from {@code --kms} and friends; new file systems are then encrypted by default. */
    static CofferServer.Config withKms(CofferServer.Config config, ServerCommand cmd) throws Exception {
        KmsSetup kms = KmsOptions.parse(cmd.kms, cmd.kmsPassphraseFile, cmd.kmsDefaultProvider, cmd.keyCacheTtl,
                cmd.kmsMaintenanceInterval);
        return kms == null ? config : config.withKms(kms);
    }

    static void started(CofferServer server, ServerCommand cmd) {
    }
}
