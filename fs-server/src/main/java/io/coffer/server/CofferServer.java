package io.coffer.server;

import io.coffer.server.admin.FsAdmin;
import io.coffer.server.chunk.SegmentChunkStore;
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

    /** How to build a server; see {@code coffer server --help} for the user-facing names. */
    public record Config(Path dataDir, List<InetSocketAddress> listen, boolean strictSync, int workerThreads,
            Function<Path, CipherSource> ciphers, boolean encryptedByDefault, RpcServer.ChannelSetup channelSetup,
            String serverName) {
        public static Config plain(Path dataDir, InetSocketAddress listen) {
            return new Config(dataDir, List.of(listen), false, 32, d -> new UnencryptedCiphers(), false,
                    RpcServer.ChannelSetup.plain(), "coffer");
        }

        public Config withCiphers(Function<Path, CipherSource> c, boolean encryptedDefault) {
            return new Config(dataDir, listen, strictSync, workerThreads, c, encryptedDefault, channelSetup, serverName);
        }

        public Config withChannelSetup(RpcServer.ChannelSetup s) {
            return new Config(dataDir, listen, strictSync, workerThreads, ciphers, encryptedByDefault, s, serverName);
        }

        public Config withStrictSync(boolean strict) {
            return new Config(dataDir, listen, strict, workerThreads, ciphers, encryptedByDefault, channelSetup, serverName);
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
        try {
            RocksMetadataStore meta = new RocksMetadataStore(config.dataDir().resolve("meta"), false);
            SegmentChunkStore chunks = new SegmentChunkStore(config.dataDir().resolve("chunks"));
            CipherSource ciphers = config.ciphers().apply(config.dataDir());
            if (ciphers instanceof AutoCloseable c) {
                extras.add(c);
            }
            built = new StoreFileSystem(meta, chunks, ciphers, Clock.systemUTC(), config.dataDir(),
                    new StoreFileSystem.Options(config.strictSync(), 1000, 30_000, 0.5, 90_000));
            fs = built;
            admin = new FsAdmin(fs, config.encryptedByDefault());
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
        } catch (IOException | RuntimeException e) {
            for (RpcServer l : listeners) {
                l.close();
            }
            if (built != null) {
                built.close();
            }
            lock.release();
            lockChannel.close();
            throw e;
        }
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
        for (RpcServer l : listeners) {
            l.close();
        }
        try {
            fs.close();
        } finally {
            for (AutoCloseable c : extras) {
                try {
                    c.close();
                } catch (Exception e) {
                    log.warn("closing {}: {}", c, e.toString());
                }
            }
            lock.release();
            lockChannel.close();
        }
        log.info("server stopped");
    }
}
