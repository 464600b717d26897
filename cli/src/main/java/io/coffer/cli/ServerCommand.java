package io.coffer.cli;

import io.coffer.server.CofferServer;
import io.coffer.server.fs.UnencryptedCiphers;
import io.coffer.server.rpc.RpcServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code coffer server}: serves the file systems kept under a data directory. */
@Command(name = "server", mixinStandardHelpOptions = true,
        description = "Run a Coffer server in the foreground until SIGTERM or SIGINT.")
final class ServerCommand implements Callable<Integer> {
    @Option(names = "--data-dir", required = true, paramLabel = "DIR", description = "Where metadata, chunks and keys live.")
    Path dataDir;

    @Option(names = "--listen", paramLabel = "HOST:PORT", converter = HostPort.class, defaultValue = "127.0.0.1:2049",
            description = "Address to listen on; repeat for several (default: ${DEFAULT-VALUE}).")
    List<InetSocketAddress> listen = new ArrayList<>();

    @Option(names = "--tls-cert", paramLabel = "FILE", description = "Server certificate (PEM); enables TLS.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE", description = "Key of the server certificate (PEM).")
    Path tlsKey;

    @Option(names = "--tls-ca", paramLabel = "FILE", description = "CA certificate(s) that client certificates must chain to.")
    Path tlsCa;

    @Option(names = "--tls-client-auth", paramLabel = "MODE", defaultValue = "optional",
            description = "Client certificates: none, optional or required (default: ${DEFAULT-VALUE}; needs --tls-ca).")
    String tlsClientAuth;

    @Option(names = "--access", paramLabel = "FILE",
            description = "Access rules: which client certificates may mount which file systems, read-only, root squash, admin (JSON; see docs/operations.md).")
    java.nio.file.Path accessFile;

    @Option(names = "--kms", paramLabel = "SPEC",
            description = "Key management: 'local' (the default: keystore and root key in DATA-DIR/kms), "
                    + "'pkcs11:library=PATH,pin-file=FILE[,slot-list-index=N]', "
                    + "'kmip:host=HOST,ca=FILE,cert=FILE,key=FILE[,port=N]' (repeat to add providers), "
                    + "or 'none' (unencrypted file systems only). See docs/operations.md.")
    List<String> kms = new ArrayList<>();

    @Option(names = "--kms-passphrase-file", paramLabel = "FILE",
            description = "Derive the local keystore's root key from the passphrase in FILE (mode 0600) instead of DATA-DIR/kms/root.key.")
    Path kmsPassphraseFile;

    @Option(names = "--kms-default-provider", paramLabel = "NAME",
            description = "Provider of the service-managed default key: local, pkcs11 or kmip (default: local).")
    String kmsDefaultProvider;

    @Option(names = "--key-cache-ttl", paramLabel = "DURATION", defaultValue = "5m", converter = DurationConverter.class,
            description = "How long an unwrapped data key is used before the KMS is asked again; a disabled key takes effect within this (default: ${DEFAULT-VALUE}).")
    Duration keyCacheTtl;

    @Option(names = "--kms-maintenance-interval", paramLabel = "DURATION", defaultValue = "1h",
            converter = DurationConverter.class,
            description = "How often due key rotations and deletions run; also once at start (default: ${DEFAULT-VALUE}).")
    Duration kmsMaintenanceInterval;

    @Option(names = "--meta", paramLabel = "URI", description = "Metadata store (only the embedded engine, rocksdb:DATA-DIR/meta, in this version).")
    String meta;

    @Option(names = "--chunks", paramLabel = "URI", description = "Chunk store (only local segment files, file:DATA-DIR/chunks, in this version).")
    String chunks;

    @Option(names = "--metrics", paramLabel = "HOST:PORT", description = "Serve metrics (not in this version).")
    String metrics;

    @Option(names = "--sync", paramLabel = "MODE", defaultValue = "commit",
            description = "When metadata reaches the disk: 'commit' (at client fsync/close and every second; a reply survives a server crash at once) or 'always' (fsync before every reply). Default: ${DEFAULT-VALUE}.")
    String sync;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "32", description = "Request worker threads (default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--ready-file", paramLabel = "FILE", description = "Write the listening addresses here once ready.")
    Path readyFile;

    @Override
    public Integer call() throws Exception {
        if (meta != null && !meta.startsWith("rocksdb:")) {
            throw new IllegalArgumentException("--meta " + meta + ": only the embedded engine (rocksdb:) is available in this version");
        }
        if (chunks != null && !chunks.startsWith("file:")) {
            throw new IllegalArgumentException("--chunks " + chunks + ": only local segment files (file:) are available in this version");
        }
        if (metrics != null) {
            throw new IllegalArgumentException("--metrics is not available in this version");
        }
        if (!sync.equals("commit") && !sync.equals("always")) {
            throw new IllegalArgumentException("--sync must be 'commit' or 'always'");
        }
        CofferServer.Config config = new CofferServer.Config(dataDir, listen, sync.equals("always"), workers,
                d -> new UnencryptedCiphers(), false, RpcServer.ChannelSetup.plain(), "coffer");
        config = ServerExtensions.configure(config, this);
        CofferServer server = new CofferServer(config);
        ServerExtensions.started(server, this);
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.close();
            } catch (Exception e) {
                System.err.println("coffer: error while stopping: " + e.getMessage());
            }
            stop.countDown();
        }, "shutdown"));
        StringBuilder addrs = new StringBuilder();
        for (InetSocketAddress a : server.addresses()) {
            addrs.append(addrs.length() > 0 ? " " : "").append(a.getHostString()).append(':').append(a.getPort());
        }
        if (readyFile != null) {
            Path tmp = readyFile.resolveSibling(readyFile.getFileName() + ".tmp");
            Files.writeString(tmp, addrs + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, readyFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        System.out.println("coffer server listening on " + addrs + " (data in " + dataDir.toAbsolutePath() + ")");
        System.out.flush();
        stop.await();
        return 0;
    }
}
