package io.coffer.server.crypto;

import io.coffer.kms.Kms;
import io.coffer.kms.KmsException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How a server gets its KMS: an opener run once the data directory is locked (so two servers
 * never open one keystore), how long unwrapped data keys are cached, and how often the KMS's
 * maintenance (due rotations and deletions) runs.
 *
 * @param opener builds the KMS for a data directory; the server owns and closes the result
 * @param keyCacheTtl see {@link KmsCiphers.Options#ttl()}
 * @param maintenanceInterval time between {@link Kms#runMaintenance()} passes (the first runs at start)
 */
public record KmsSetup(Opener opener, Duration keyCacheTtl, Duration maintenanceInterval) {
    public static final Duration DEFAULT_KEY_CACHE_TTL = Duration.ofMinutes(5);
    public static final Duration DEFAULT_MAINTENANCE_INTERVAL = Duration.ofHours(1);

    public KmsSetup {
        Objects.requireNonNull(opener, "opener");
        if (keyCacheTtl == null || keyCacheTtl.isNegative() || keyCacheTtl.isZero()) {
            throw new IllegalArgumentException("the key cache TTL must be positive");
        }
        if (maintenanceInterval == null || maintenanceInterval.isNegative() || maintenanceInterval.isZero()) {
            throw new IllegalArgumentException("the KMS maintenance interval must be positive");
        }
    }

    /** Opens a KMS for a server's data directory. */
    @FunctionalInterface
    public interface Opener {
        Kms open(Path dataDir) throws KmsException;
    }

    /** The embedded local keystore in {@code DATA-DIR/kms} with its root key file, default settings. */
    public static KmsSetup local() {
        return new KmsSetup(d -> Kms.builder().keystoreDir(d.resolve("kms")).build(), DEFAULT_KEY_CACHE_TTL,
                DEFAULT_MAINTENANCE_INTERVAL);
    }

    public KmsSetup withKeyCacheTtl(Duration ttl) {
        return new KmsSetup(opener, ttl, maintenanceInterval);
    }
}
