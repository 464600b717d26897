package io.coffer.server;

import io.coffer.core.status.NotSupportedException;
import io.coffer.kms.Kms;
import io.coffer.kms.KmsException;
import io.coffer.kms.MaintenanceReport;
import io.coffer.server.admin.FsAdmin;
import io.coffer.server.admin.KmsAdminService;
import io.coffer.server.chunk.SegmentChunkStore;
import io.coffer.server.crypto.KmsCiphers;
import io.coffer.server.crypto.KmsSetup;
import io.coffer.server.fs.CipherSource;
import io.coffer.server.fs.DuplicateRequests;
import io.coffer.server.fs.StoreFileSystem;
import io.coffer.server.fs.UnencryptedCiphers;
import io.coffer.server.meta.RocksMetadataStore;
import io.coffer.server.rpc.AdminService;
import io.coffer.server.rpc.Dispatcher;
import io.coffer.server.rpc.RpcServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Coffer server: the stores under a data directory, the file systems over them, and
 * the RPC listener. One process per data directory (enforced with a lock file).
 */
public final class CofferServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CofferServer.class);

    private final FileChannel lockChannel;
    private final FileLock lock;
    private final StoreFileSystem fs;
    private final FsAdmin admin;
    private final List<RpcServer> listeners = new ArrayList<>();
    private final ScheduledExecutorService housekeeping;
    private final List<AutoCloseable> extras = new ArrayList<>();
    private final Kms kms;
    private final ScheduledExecutorService kmsMaintenance;

    /**
     * How to build a server; see {@code coffer server --help} for the user-facing names.
     *
     * @param kms the KMS for encryption at rest, or null; when set it replaces {@code ciphers}
     */
    public record Config(Path dataDir, List<InetSocketAddress> listen, boolean strictSync, int workerThreads,
            Function<Path, CipherSource> ciphers, boolean encryptedByDefault, RpcServer.ChannelSetup channelSetup,
            String serverName, KmsSetup kms) {
        public Config(Path dataDir, List<InetSocketAddress> listen, boolean strictSync, int workerThreads,
                Function<Path, CipherSource> ciphers, boolean encryptedByDefault, RpcServer.ChannelSetup channelSetup,
                String serverName) {
            this(dataDir, listen, strictSync, workerThreads, ciphers, encryptedByDefault, channelSetup, serverName, null);
        }

        public static Config plain(Path dataDir, InetSocketAddress listen) {
            return new Config(dataDir, List.of(listen), false, 32, d -> new UnencryptedCiphers(), false,
                    RpcServer.ChannelSetup.plain(), "coffer");
        }

        public Config withCiphers(Function<Path, CipherSource> c, boolean encryptedDefault) {
            return new Config(dataDir, listen, strictSync, workerThreads, c, encryptedDefault, channelSetup, serverName,
                    kms);
        }

        public Config withChannelSetup(RpcServer.ChannelSetup s) {
            return new Config(dataDir, listen, strictSync, workerThreads, ciphers, encryptedByDefault, s, serverName,
                    kms);
        }

        public Config withStrictSync(boolean strict) {
            return new Config(dataDir, listen, strict, workerThreads, ciphers, encryptedByDefault, channelSetup,
                    serverName, kms);
        }

        /** Encryption at rest with data keys from a KMS; new file systems are then encrypted by default. */
        public Config withKms(KmsSetup k) {
            return new Config(dataDir, listen, strictSync, workerThreads, ciphers, k != null, channelSetup, serverName,
                    k);
        }
    }

    public CofferServer(Config config) throws IOException {
        Files.createDirectories(config.dataDir());
        lockChannel = FileChannel.open(config.dataDir().resolve("server.lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        lock = lockChannel.tryLock();
        if (lock == null) {
            lockChannel.close();
            throw new IOException("another Coffer server is using " + config.dataDir());
        }
        StoreFileSystem built = null;
        Kms openedKms = null;
        ScheduledExecutorService maintenance = null;
        try {
            CipherSource ciphers;
            if (config.kms() != null) {
                try {
                    openedKms = config.kms().opener().open(config.dataDir());
                } catch (KmsException e) {
                    throw new IOException("cannot open the KMS: " + e.getMessage(), e);
                }
                ciphers = new KmsCiphers(openedKms, KmsCiphers.Options.defaults().withTtl(config.kms().keyCacheTtl()));
            } else {
                ciphers = config.ciphers().apply(config.dataDir());
            }
            if (ciphers instanceof AutoCloseable c) {
                extras.add(c);
            }
            RocksMetadataStore meta = new RocksMetadataStore(config.dataDir().resolve("meta"), false);
            SegmentChunkStore chunks = new SegmentChunkStore(config.dataDir().resolve("chunks"));
            built = new StoreFileSystem(meta, chunks, ciphers, Clock.systemUTC(), config.dataDir(),
                    new StoreFileSystem.Options(config.strictSync(), 1000, 30_000, 0.5, 90_000));
            fs = built;
            admin = new FsAdmin(fs, config.encryptedByDefault());
            if (openedKms != null) {
                admin.register(KmsAdminService.PREFIX, new KmsAdminService(openedKms));
                maintenance = startMaintenance(openedKms, config.kms().maintenanceInterval());
            } else {
                admin.register(KmsAdminService.PREFIX, (command, json, caller) -> {
                    throw new NotSupportedException("this server runs without a KMS (coffer server --kms none)");
                });
            }
            DuplicateRequests drc = new DuplicateRequests(metaOf(meta), 15 * 60_000L);
            Dispatcher dispatcher = new Dispatcher(fs, drc, admin, config.serverName());
            for (InetSocketAddress addr : config.listen()) {
                listeners.add(new RpcServer(addr, dispatcher, config.channelSetup(), config.workerThreads()));
            }
            housekeeping = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "housekeeping");
                t.setDaemon(true);
                return t;
            });
            housekeeping.scheduleWithFixedDelay(() -> {
                try {
                    drc.sweep(System.currentTimeMillis());
                    fs.lockTable().expire();
                } catch (IOException | RuntimeException e) {
                    log.error("housekeeping failed: {}", e.toString());
                }
            }, 10, 10, TimeUnit.SECONDS);
            kms = openedKms;
            kmsMaintenance = maintenance;
        } catch (IOException | RuntimeException e) {
            for (RpcServer l : listeners) {
                l.close();
            }
            if (maintenance != null) {
                maintenance.shutdownNow();
            }
            try {
                if (built != null) {
                    built.close();
                }
            } catch (IOException | RuntimeException closing) {
                e.addSuppressed(closing);
            }
            closeExtras();
            if (openedKms != null) {
                openedKms.close();
            }
            lock.release();
            lockChannel.close();
            throw e;
        }
    }

    /**
     * Runs the KMS's due rotations and deletions now and then every {@code interval}, on a thread
     * of its own so a slow remote KMS never delays the store's housekeeping.
     */
    private static ScheduledExecutorService startMaintenance(Kms kms, java.time.Duration interval) {
        ScheduledExecutorService ex = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "kms-maintenance");
            t.setDaemon(true);
            return t;
        });
        ex.scheduleWithFixedDelay(() -> {
            try {
                MaintenanceReport r = kms.runMaintenance();
                if (!r.rotated().isEmpty() || !r.deleted().isEmpty() || !r.failed().isEmpty()) {
                    log.info("KMS maintenance: rotated {}, deleted {}, failed (retried next pass) {}", r.rotated(),
                            r.deleted(), r.failed());
                }
            } catch (KmsException | RuntimeException e) {
                log.error("KMS maintenance failed (retried next pass): {}", e.toString());
            }
        }, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        return ex;
    }

    private void closeExtras() {
        for (AutoCloseable c : extras) {
            try {
                c.close();
            } catch (Exception e) {
                log.warn("closing {}: {}", c, e.toString());
            }
        }
    }

    /** The server's KMS, or null when it serves unencrypted file systems only. */
    public Kms kms() {
        return kms;
    }

    private static io.coffer.server.meta.MetadataStore metaOf(RocksMetadataStore m) {
        return m;
    }

    public StoreFileSystem fileSystems() {
        return fs;
    }

    public FsAdmin admin() {
        return admin;
    }

    /** Registers an admin command family (e.g. "kms-") and keeps its owner for closing. */
    public void registerAdmin(String prefix, AdminService service) {
        admin.register(prefix, service);
    }

    public void closeWith(AutoCloseable c) {
        extras.add(c);
    }

    public InetSocketAddress address() {
        return listeners.get(0).localAddress();
    }

    public List<InetSocketAddress> addresses() {
        return listeners.stream().map(RpcServer::localAddress).toList();
    }

    @Override
    public void close() throws IOException {
        housekeeping.shutdownNow();
        if (kmsMaintenance != null) {
            kmsMaintenance.shutdownNow();
        }
        for (RpcServer l : listeners) {
            l.close();
        }
        try {
            fs.close();
        } finally {
            // Ciphers (extras) first, then the KMS they got their keys from.
            closeExtras();
            if (kms != null) {
                kms.close();
            }
            lock.release();
            lockChannel.close();
        }
        log.info("server stopped");
    }
}
