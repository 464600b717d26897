package io.coffer.tls.cli;

import io.coffer.tls.TlsProvider;
import io.coffer.tls.TlsSetupException;
import io.coffer.tls.proxy.ConfigException;
import io.coffer.tls.proxy.ProxyConfig;
import io.coffer.tls.proxy.ProxyConfigParser;
import io.coffer.tls.proxy.ProxyProcess;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.AbstractMap.SimpleEntry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code coffer proxy}: the stunnel-compatible TLS tunnel, from a configuration file or, for one
 * service, from flags. Runs until SIGTERM/SIGINT; prints the READY lines when listening.
 */
@Command(name = "proxy", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run the TLS tunnel (stunnel-compatible configuration).",
            "Prints 'READY <service> <host:port>' per service and then 'READY' once listening.",
            "SIGHUP reloads certificates and keys; SIGUSR1 writes the status file."},
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:stopped normally", "1:could not start (TLS material, address in use, files)",
            "2:invalid configuration or arguments"})
public final class ProxyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "stunnel-style configuration file")
    Path config;

    @Option(names = "--ready-file", paramLabel = "FILE", description = "also write the READY lines to this file")
    Path readyFile;

    @Option(names = "--status-file", paramLabel = "FILE",
            description = "status JSON file (default: <pid file>.status when the configuration names a pid file)")
    Path statusFile;

    @Option(names = "--status-interval", paramLabel = "SECONDS", defaultValue = "5",
            description = "how often the status file is rewritten (default: ${DEFAULT-VALUE})")
    int statusIntervalSeconds;

    @Option(names = "--provider", paramLabel = "jdk|conscrypt|openssl",
            description = "TLS provider (default: the fastest available, see docs/adr/0003-tls-provider.md)")
    String provider;

    @Option(names = "--allow-unverified", description = "permit verify = 0 in client mode (tests only: trusts any server)")
    boolean allowUnverified;

    @Option(names = "--client", description = "single service: accept plaintext, connect with TLS")
    boolean client;

    @Option(names = "--server", description = "single service: accept TLS, connect plaintext")
    boolean server;

    @Option(names = "--service", paramLabel = "NAME", defaultValue = "proxy", description = "single service: its name")
    String serviceName;

    @Option(names = "--accept", paramLabel = "HOST:PORT", description = "single service: listen address (port 0: any free port)")
    String accept;

    @Option(names = "--connect", paramLabel = "HOST:PORT", description = "single service: target (repeat for failover)")
    List<String> connect = new ArrayList<>();

    @Option(names = "--cafile", paramLabel = "FILE", description = "trusted CA certificates (PEM)")
    Path caFile;

    @Option(names = "--capath", paramLabel = "DIR", description = "directory of trusted certificates (PEM)")
    Path caPath;

    @Option(names = "--cert", paramLabel = "FILE", description = "own certificate chain (PEM)")
    Path cert;

    @Option(names = "--key", paramLabel = "FILE", description = "own private key (PEM; default: the --cert file)")
    Path key;

    @Option(names = "--verify", paramLabel = "0-4", description = "peer verification level, as stunnel's verify")
    Integer verify;

    @Option(names = "--check-host", paramLabel = "NAME", description = "name the peer certificate must carry (repeatable)")
    List<String> checkHost = new ArrayList<>();

    @Option(names = "--check-ip", paramLabel = "IP", description = "IP the peer certificate must carry (repeatable)")
    List<String> checkIp = new ArrayList<>();

    @Option(names = "--ssl-version-min", paramLabel = "TLSv1.2|TLSv1.3", description = "lowest TLS version")
    String sslVersionMin;

    @Option(names = "--ssl-version-max", paramLabel = "TLSv1.2|TLSv1.3", description = "highest TLS version")
    String sslVersionMax;

    @Option(names = "--ciphers", paramLabel = "LIST", description = "TLSv1.2 suites, colon-separated (OpenSSL names)")
    String ciphers;

    @Option(names = "--ciphersuites", paramLabel = "LIST", description = "TLSv1.3 suites, colon-separated")
    String ciphersuites;

    @Option(names = "--idle-timeout", paramLabel = "SECONDS", description = "close idle connections (TIMEOUTidle)")
    Long idleTimeout;

    @Option(names = "--pid-file", paramLabel = "FILE", description = "single service: write the process id here")
    Path pidFile;

    @Option(names = "--debug", paramLabel = "LEVEL", description = "event log level 0-7 (default 5)")
    String debug;

    @Option(names = "--output", paramLabel = "FILE", description = "also append the event log to this file")
    Path output;

    /** Runs the command stand-alone: {@code java -cp ... io.coffer.tls.cli.ProxyCommand --config FILE}. */
    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new ProxyCommand());
        cl.setParameterExceptionHandler(CliErrors.oneLineParameterErrors());
        System.exit(cl.execute(args));
    }

    @Override
    public Integer call() {
        ProxyConfig cfg;
        try {
            cfg = configuration();
        } catch (ConfigException | IllegalArgumentException e) {
            return CliErrors.fail(spec, CliErrors.USAGE, e.getMessage());
        } catch (NoSuchFileException e) {
            return CliErrors.fail(spec, CliErrors.USAGE, "configuration file not found: " + e.getFile());
        } catch (IOException e) {
            return CliErrors.fail(spec, CliErrors.USAGE, "cannot read configuration: " + e.getMessage());
        }
        ProxyProcess process;
        try {
            process = ProxyProcess.start(cfg, new ProxyProcess.Options(Optional.ofNullable(readyFile),
                    Optional.ofNullable(statusFile), Duration.ofSeconds(Math.max(1, statusIntervalSeconds)), true),
                    System.out);
        } catch (TlsSetupException | IOException e) {
            return CliErrors.fail(spec, CliErrors.FAILURE, e.getMessage());
        }
        Thread hook = new Thread(process::close, "coffer-proxy-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            process.awaitClose();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.close();
        }
        return 0;
    }

    private ProxyConfig configuration() throws ConfigException, IOException {
        TlsProvider p = provider == null ? TlsProvider.defaultProvider() : TlsProvider.parse(provider);
        if (!p.isAvailable()) {
            throw new IllegalArgumentException("TLS provider " + p.name().toLowerCase() + " is not available here: "
                    + p.unavailabilityCause().map(Throwable::getMessage).orElse("?"));
        }
        ProxyConfigParser.Options opts = new ProxyConfigParser.Options(p, allowUnverified);
        boolean single = client || server;
        if (config != null) {
            if (single || accept != null || !connect.isEmpty()) {
                throw new IllegalArgumentException("--config cannot be combined with --client/--server service flags");
            }
            return ProxyConfigParser.parse(config, opts);
        }
        if (!single) {
            throw new IllegalArgumentException("give --config FILE, or --client or --server with --accept and --connect");
        }
        if (client && server) {
            throw new IllegalArgumentException("--client and --server are exclusive");
        }
        List<Map.Entry<String, String>> global = new ArrayList<>();
        List<Map.Entry<String, String>> svc = new ArrayList<>();
        Map<String, String> flags = new HashMap<>();
        put(global, flags, "pid", pidFile, "--pid-file");
        put(global, flags, "debug", debug, "--debug");
        put(global, flags, "output", output, "--output");
        put(svc, flags, "client", client ? "yes" : "no", client ? "--client" : "--server");
        if (accept == null) {
            throw new IllegalArgumentException("--accept HOST:PORT is required");
        }
        if (connect.isEmpty()) {
            throw new IllegalArgumentException("--connect HOST:PORT is required");
        }
        put(svc, flags, "accept", accept, "--accept");
        for (String c : connect) {
            put(svc, flags, "connect", c, "--connect");
        }
        put(svc, flags, "CAfile", caFile, "--cafile");
        put(svc, flags, "CApath", caPath, "--capath");
        put(svc, flags, "cert", cert, "--cert");
        put(svc, flags, "key", key, "--key");
        put(svc, flags, "verify", verify, "--verify");
        for (String h : checkHost) {
            put(svc, flags, "checkHost", h, "--check-host");
        }
        for (String ip : checkIp) {
            put(svc, flags, "checkIP", ip, "--check-ip");
        }
        put(svc, flags, "sslVersionMin", sslVersionMin, "--ssl-version-min");
        put(svc, flags, "sslVersionMax", sslVersionMax, "--ssl-version-max");
        put(svc, flags, "ciphers", ciphers, "--ciphers");
        put(svc, flags, "ciphersuites", ciphersuites, "--ciphersuites");
        put(svc, flags, "TIMEOUTidle", idleTimeout, "--idle-timeout");
        return ProxyConfigParser.fromSettings(serviceName, global, svc, flags, opts);
    }

    private static void put(List<Map.Entry<String, String>> list, Map<String, String> flags, String key, Object value,
            String flag) {
        if (value != null) {
            list.add(new SimpleEntry<>(key, value.toString()));
            flags.put(key, flag);
        }
    }
}
