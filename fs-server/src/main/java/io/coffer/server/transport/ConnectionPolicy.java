package io.coffer.server.transport;

import io.coffer.core.Credentials;
import io.coffer.core.FileSystemId;
import io.coffer.core.status.AccessException;
import io.coffer.server.rpc.AccessPolicy;
import io.coffer.tls.PeerIdentity;
import java.io.IOException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The access policy of one connection, from how it arrived (TLS or plaintext, loopback or not)
 * and who it is (its certificate's grant). Refusals are EACCES with a message the client can
 * act on, and a server log line.
 */
final class ConnectionPolicy implements AccessPolicy {
    private static final Logger log = LoggerFactory.getLogger(ConnectionPolicy.class);
    private static final Credentials NOBODY = new Credentials(65534, 65534, new int[0]);

    private final boolean tls;
    private final boolean loopback;
    private final String remote;
    private final Supplier<PeerIdentity> identity;
    private final AccessRules rules;
    private volatile AccessRules.Grant grant;

    ConnectionPolicy(boolean tls, boolean loopback, String remote, Supplier<PeerIdentity> identity, AccessRules rules) {
        this.tls = tls;
        this.loopback = loopback;
        this.remote = remote;
        this.identity = identity;
        this.rules = rules;
    }

    private AccessRules.Grant grant() {
        AccessRules.Grant g = grant;
        if (g == null) {
            PeerIdentity id = tls ? identity.get() : null;
            g = tls ? rules.grantFor(id)
                    : new AccessRules.Grant("plaintext", false, false, java.util.Map.of("*", AccessRules.Mode.RW));
            grant = g;
        }
        return g;
    }

    @Override
    public void checkMount(FileSystemId fs, TransportRule rule) throws IOException {
        if (!tls) {
            if (!rule.allowsPlaintext(loopback)) {
                log.warn("refused plaintext access to {} from {}: its transport policy is {}", fs, remote, rule.word());
                throw new AccessException("file system " + fs + " requires TLS (transport policy " + rule.word()
                        + "); mount with -o tls");
            }
            return;
        }
        if (grant().modeFor(fs) == AccessRules.Mode.NONE) {
            log.warn("refused {} from {} ({}): not allowed to mount it", fs, remote, grant().label());
            throw new AccessException(grant().label() + " is not allowed to mount " + fs);
        }
    }

    @Override
    public boolean readOnly(FileSystemId fs) {
        return tls && grant().modeFor(fs) == AccessRules.Mode.RO;
    }

    @Override
    public Credentials map(FileSystemId fs, Credentials asked) {
        if (tls && grant().rootSquash() && asked.uid() == 0) {
            return NOBODY;
        }
        return asked;
    }

    @Override
    public void checkAdmin() throws IOException {
        if (loopback || (tls && grant().admin())) {
            return;
        }
        log.warn("refused an administrative command from {} ({})", remote, tls ? grant().label() : "plaintext");
        throw new AccessException("administrative commands need a loopback connection or a client certificate with the admin role");
    }

    @Override
    public String principal() {
        return tls ? grant().label() + "@" + remote : "plaintext@" + remote;
    }
}
