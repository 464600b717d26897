package io.coffer.mount;

import io.coffer.core.MountOptions;
import io.coffer.core.status.InvalException;
import java.io.IOException;
import java.io.PrintStream;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * What {@code /sbin/mount.coffer} and {@code coffer mount} do: check the request, start the TLS
 * tunnel on a free loopback port and wait until it listens and reaches the server, start the
 * client daemon against it, and return once the mount is in /proc/self/mountinfo. Anything that
 * fails undoes everything started before it (processes, state and configuration files, the
 * port). The watchdog takes over from there.
 */
public final class MountHelper {
    /** Options that only the helper reads; the client daemon never sees them. */
    private static final List<String> HELPER_ONLY = List.of("_netdev", "nofail", "noauto", "auto", "user", "users",
            "nouser", "defaults");
    /** Options of the tunnel; with a tunnel, the daemon speaks plaintext to 127.0.0.1:tlsport instead. */
    private static final List<String> TUNNEL_ONLY = List.of("tls", "notls", "proxy", "tlsport", "cafile", "cert", "key",
            "verify", "checkhost", "tlsprovider", "addr", "port");

    private final HelperPaths paths;
    private final CofferLauncher launcher;
    private final PrintStream out;
    private final PrintStream err;
    private final String name;
    private final StateStore store;
    private CofferConf conf;
    private RotatingLog log;

    /**
     * @param name how messages start ("mount.coffer", "coffer mount")
     */
    public MountHelper(HelperPaths paths, CofferLauncher launcher, PrintStream out, PrintStream err, String name) {
        this.paths = paths;
        this.launcher = launcher;
        this.out = out;
        this.err = err;
        this.name = name;
        this.store = new StateStore(paths.stateDir());
    }

    /** A checked request whose tunnel (if any) is up; the client daemon is next. */
    public final class Prepared {
        final MountState state;
        final Path stateFile;
        final String daemonOptions;
        final Path mountpoint;
        final String source;
        private boolean done;

        Prepared(MountState state, Path stateFile, String daemonOptions, Path mountpoint, String source) {
            this.state = state;
            this.stateFile = stateFile;
            this.daemonOptions = daemonOptions;
            this.mountpoint = mountpoint;
            this.source = source;
        }

        /** The {@code -o} options of the client daemon (with a tunnel: plaintext to its port). */
        public String daemonOptions() {
            return daemonOptions;
        }

        public Path mountpoint() {
            return mountpoint;
        }

        public String source() {
            return source;
        }

        public Optional<Integer> tunnelPort() {
            return Optional.ofNullable(state.tlsport);
        }
    }

    /**
     * Mounts, printing one line on failure (and what is done with {@code verbose}).
     *
     * @return the exit code (see {@link ExitCodes})
     */
    public int mount(MountRequest req) {
        Prepared p = null;
        Thread undo = null;
        try {
            p = prepare(req);
            if (p == null) {
                return ExitCodes.OK;
            }
            Prepared prepared = p;
            undo = new Thread(() -> abort(prepared), "mount-undo");
            Runtime.getRuntime().addShutdownHook(undo);
            ProcessRef daemon = startDaemon(p);
            mounted(p, daemon);
            return ExitCodes.OK;
        } catch (HelperException e) {
            fail(req, e);
            if (p != null) {
                abort(p);
            }
            return e.exitCode();
        } catch (RuntimeException e) {
            fail(req, new HelperException(ExitCodes.SYSTEM, "internal error: " + e, e));
            if (p != null) {
                abort(p);
            }
            return ExitCodes.SYSTEM;
        } finally {
            if (undo != null) {
                try {
                    Runtime.getRuntime().removeShutdownHook(undo);
                } catch (IllegalStateException e) {
                    // Shutting down already: the hook runs.
                }
            }
        }
    }

    private void fail(MountRequest req, HelperException e) {
        err.println(name + ": " + e.getMessage());
        if (log != null) {
            log.error("mount " + req.source() + " on " + req.mountpoint() + " failed (exit " + e.exitCode() + "): "
                    + e.getMessage());
        }
    }

    private void verbose(MountRequest req, String msg) {
        if (req.verbose()) {
            err.println(name + ": " + msg);
        }
        if (log != null) {
            log.info(msg);
        }
    }

    /**
     * Checks the request and brings the tunnel up. Returns null for a fake mount ({@code -f}),
     * after the checks.
     */
    public Prepared prepare(MountRequest req) throws HelperException {
        MountOptions.Source src;
        try {
            src = MountOptions.Source.parse(req.source());
        } catch (InvalException e) {
            throw HelperException.usage(e.getMessage());
        }
        MountOptions opts = parseOptions(req);
        if (!Users.isRoot()) {
            if (opts.user) {
                throw HelperException.usage("user mounts (-o user/users) are not supported: only root can mount "
                        + "Coffer file systems (the helper runs a TLS tunnel and a FUSE daemon for every user of the machine)");
            }
            throw HelperException.usage("only root can mount Coffer file systems (run with sudo)");
        }
        conf = CofferConf.load(paths.configFile());
        log = new RotatingLog(paths.logDir().resolve("mount.log"), conf, "mount.coffer");
        if (req.mountpoint() == null || req.mountpoint().isEmpty()) {
            throw HelperException.usage("missing mount point");
        }
        Path given = Path.of(req.mountpoint()).toAbsolutePath().normalize();
        if (!Files.exists(given)) {
            throw HelperException.failure("mount point " + given + " does not exist");
        }
        if (!Files.isDirectory(given)) {
            throw HelperException.failure("mount point " + given + " is not a directory");
        }
        Path mp;
        try {
            // The kernel's table names the real path; so must the state, or the watchdog would
            // take a mount made through a symbolic link for one that is gone.
            mp = given.toRealPath();
        } catch (IOException e) {
            throw HelperException.failure("mount point " + given + ": " + e.getMessage());
        }
        Optional<MountTable.Entry> existing = MountTable.find(mp);
        if (existing.isPresent()) {
            throw HelperException.failure(mp + " is already mounted (" + existing.get().source() + ", "
                    + existing.get().fsType() + ")");
        }

        String proxy = opts.has("proxy") ? opts.get("proxy") : conf.proxy;
        if (opts.has("proxy") && !opts.tls) {
            throw HelperException.usage("mount option proxy=" + proxy + " needs -o tls");
        }
        boolean tunnel = opts.tls && !proxy.equals("none");
        String host;
        boolean fromDns = opts.addr == null;
        if (fromDns) {
            host = conf.dnsNameFormat.replace("{fs_id}", src.fs().toString());
        } else {
            host = opts.addr;
        }
        Tunnel.Settings tls = null;
        if (opts.tls) {
            String ca = opts.caFile != null ? opts.caFile : conf.caFile;
            if (ca.isEmpty() || !Files.isReadable(Path.of(ca))) {
                throw HelperException.usage("CA file " + (ca.isEmpty() ? "(none)" : ca) + " is not readable: give "
                        + "-o cafile=FILE, or set cafile in " + paths.configFile());
            }
            for (String f : new String[] {opts.certFile, opts.keyFile}) {
                if (f != null && !Files.isReadable(Path.of(f))) {
                    throw HelperException.usage("TLS file " + f + " is not readable");
                }
            }
            String provider = opts.tlsProvider != null ? opts.tlsProvider : conf.proxyProvider;
            tls = new Tunnel.Settings(Path.of(ca).toAbsolutePath().toString(), abs(opts.certFile), abs(opts.keyFile),
                    opts.verify, provider);
            if (opts.verify == 0) {
                err.println(name + ": warning: verify=0: the server's certificate is not checked; anyone on the "
                        + "path can read and change the data");
            }
        }
        if (req.fake()) {
            verbose(req, "fake mount (-f): " + src + " on " + mp + " checked, nothing started");
            return null;
        }
        try {
            Tunnel.resolve(host);
        } catch (UnknownHostException e) {
            throw HelperException.failure("cannot resolve " + host + (fromDns ? " (made from dns_name_format in "
                    + paths.configFile() + "): give -o addr=HOST, or add the name to DNS or /etc/hosts"
                    : ": unknown host"));
        }
        paths.logDir().toFile().mkdirs();
        store.ensureDir();

        MountState st = new MountState();
        st.phase = MountState.MOUNTING;
        st.fsId = src.fs().toString();
        st.path = src.path();
        st.source = src.toString();
        st.mountpoint = mp.toString();
        st.addr = host;
        st.port = opts.port;
        st.server = Tunnel.hostPort(host, opts.port);
        st.tls = opts.tls;
        st.proxy = opts.tls ? proxy : "none";
        st.checkHost = opts.checkHost != null ? opts.checkHost : host;
        st.options = req.options() == null ? "" : req.options();
        ProcessRef self = ProcessRef.self();
        st.helperPid = self.pid();
        st.helperStartTicks = self.startTicks();
        st.healthClientId = UUID.randomUUID().toString();
        st.mountTime = Instant.now().toString();
        String base = StateStore.baseName(st.fsId, st.mountpoint, null);
        st.daemonLog = paths.logDir().resolve(base + ".daemon.log").toString();

        if (!tunnel) {
            MountOptions d = daemonOptions(opts, false, fromDns ? host : null, proxy, tls);
            st.daemonOptions = d.format();
            Path file = reserve(st, null, mp);
            Prepared p = new Prepared(st, file, st.daemonOptions, mp, src.toString());
            try {
                WatchdogControl.ensureRunning(paths, launcher, conf, log);
                if (!opts.tls) {
                    checkServer(req, p, host, opts.port, null, 0);
                }
            } catch (HelperException e) {
                abort(p);
                throw e;
            }
            return p;
        }

        st.proxyLog = paths.logDir().resolve(base + ".proxy.log").toString();
        Set<Integer> avoid = new HashSet<>();
        for (int attempt = 1; ; attempt++) {
            Path file = reserve(st, opts.tlsPort != null ? opts.tlsPort : (Integer) 0, mp, avoid);
            Prepared p = new Prepared(st, file, null, mp, src.toString());
            try {
                String files = StateStore.baseName(st.fsId, st.mountpoint, st.tlsport);
                st.config = store.dir().resolve(files + ".conf").toString();
                st.pidFile = store.dir().resolve(files + ".pid").toString();
                st.readyFile = store.dir().resolve(files + ".ready").toString();
                st.statusFile = store.dir().resolve(files + ".status").toString();
                st.command = Tunnel.command(proxy, launcher, conf, st, tls);
                StateStore.writeAtomically(Path.of(st.config), Tunnel.config(st, tls));
                writeState(file, st);
                WatchdogControl.ensureRunning(paths, launcher, conf, log);
                Tunnel.Started started;
                try {
                    started = Tunnel.start(st, childEnvironment(), conf.proxyReadyTimeoutSec * 1000L);
                } catch (Tunnel.PortInUseException e) {
                    abort(p);
                    if (opts.tlsPort != null) {
                        throw HelperException.failure("tlsport=" + opts.tlsPort + " is in use by another program");
                    }
                    if (attempt >= 5) {
                        throw HelperException.failure("the TLS proxy found 5 ports in use in a row: " + e.getMessage());
                    }
                    avoid.add(st.tlsport);
                    continue;
                }
                st.proxyPid = started.ref().pid();
                st.proxyStartTicks = started.ref().startTicks();
                if (proxy.equals("coffer")) {
                    List<String> exec = Tunnel.commandLine(st.proxyPid);
                    // Only a JVM command line is worth recording (not a shell still in between).
                    if (!exec.isEmpty() && exec.get(0).endsWith("/java") && exec.contains(st.config)) {
                        st.proxyExec = exec;
                        st.proxyExecEnv = Tunnel.environmentAddedTo(st.proxyPid, System.getenv());
                    }
                }
                st.proxyStartedAt = Instant.now().toString();
                writeState(file, st);
                verbose(req, "TLS tunnel (" + proxy + ") on 127.0.0.1:" + st.tlsport + " to " + st.server + " ready in "
                        + started.readyMillis() + " ms (pid " + st.proxyPid + ")");
                checkServer(req, p, "127.0.0.1", st.tlsport, Path.of(st.proxyLog), Spawn.size(Path.of(st.proxyLog)));
                MountOptions d = daemonOptions(opts, true, null, proxy, tls).with("addr", "127.0.0.1")
                        .with("port", Integer.toString(st.tlsport));
                st.daemonOptions = d.format();
                writeState(file, st);
                return new Prepared(st, file, st.daemonOptions, mp, src.toString());
            } catch (HelperException e) {
                abort(p);
                throw e;
            } catch (InvalException e) {
                abort(p);
                throw HelperException.usage(e.getMessage());
            } catch (IOException e) {
                abort(p);
                throw new HelperException(ExitCodes.SYSTEM, "cannot write " + store.dir() + ": " + e.getMessage());
            }
        }
    }

    private static String abs(String file) {
        return file == null ? null : Path.of(file).toAbsolutePath().toString();
    }

    /** Parses the options; with {@code -s}, unknown ones are dropped with a warning. */
    private MountOptions parseOptions(MountRequest req) throws HelperException {
        List<String> parts = new ArrayList<>();
        if (req.options() != null) {
            for (String s : req.options().split(",")) {
                if (!s.isEmpty()) {
                    parts.add(s);
                }
            }
        }
        while (true) {
            try {
                return MountOptions.parse(String.join(",", parts));
            } catch (InvalException e) {
                String m = e.getMessage();
                String prefix = "unknown mount option: ";
                if (req.sloppy() && m != null && m.startsWith(prefix)) {
                    String bad = m.substring(prefix.length());
                    err.println(name + ": warning: ignoring unknown option " + bad + " (-s)");
                    parts.removeIf(s -> s.equals(bad) || s.startsWith(bad + "="));
                    continue;
                }
                throw HelperException.usage(m);
            }
        }
    }

    private static MountOptions daemonOptions(MountOptions opts, boolean tunnel, String resolvedAddr, String proxy,
            Tunnel.Settings tls) throws HelperException {
        // Rebuilt as text and parsed once: removing keys one by one would trip the checks
        // between them (cert without key, cafile without tls).
        List<String> drop = new ArrayList<>(HELPER_ONLY);
        if (tunnel) {
            drop.addAll(TUNNEL_ONLY);
        }
        List<String> keep = new ArrayList<>();
        for (String part : opts.format().split(",")) {
            String key = part.contains("=") ? part.substring(0, part.indexOf('=')) : part;
            if (!part.isEmpty() && !drop.contains(key)) {
                keep.add(part);
            }
        }
        try {
            MountOptions d = MountOptions.parse(String.join(",", keep));
            if (!tunnel) {
                if (resolvedAddr != null) {
                    d = d.with("addr", resolvedAddr);
                }
                if (opts.tls) {
                    d = d.with("proxy", proxy);
                    if (!d.has("cafile")) {
                        d = d.with("cafile", tls.caFile());
                    }
                }
            }
            return d;
        } catch (InvalException e) {
            throw HelperException.usage(e.getMessage());
        }
    }

    /** The environment of every process we start: the same paths as ours. */
    Map<String, String> childEnvironment() {
        return paths.environment();
    }

    private Path reserve(MountState st, Integer port, Path mp) throws HelperException {
        return reserve(st, port, mp, Set.of());
    }

    /**
     * Under the state lock: clears stale state of this mount point, picks the port ({@code 0}:
     * any free one in the range, null: no tunnel) and writes the state file that holds it.
     */
    private Path reserve(MountState st, Integer port, Path mp, Set<Integer> avoid) throws HelperException {
        List<Map.Entry<Path, MountState>> stale = new ArrayList<>();
        try (AutoCloseable lock = store.lock()) {
            Map<Path, MountState> all = store.list();
            for (Map.Entry<Path, MountState> e : all.entrySet()) {
                MountState o = e.getValue();
                ProcessRef helper = o.helperProcess();
                boolean deadHelper = MountState.MOUNTING.equals(o.phase) && (helper == null || !helper.isAlive());
                boolean sameMountpoint = mp.toString().equals(o.mountpoint) && MountState.MOUNTED.equals(o.phase);
                if (deadHelper || sameMountpoint) {
                    stale.add(e);
                }
            }
            Set<Integer> taken = new HashSet<>();
            for (Map.Entry<Path, MountState> e : all.entrySet()) {
                if (!stale.contains(e) && e.getValue().tlsport != null) {
                    taken.add(e.getValue().tlsport);
                }
            }
            for (Map.Entry<Path, MountState> e : stale) {
                // Their processes may still hold the port: keep it out until they are gone.
                if (e.getValue().tlsport != null) {
                    taken.add(e.getValue().tlsport);
                }
            }
            if (port != null && port != 0) {
                if (taken.contains(port)) {
                    throw HelperException.failure("tlsport=" + port + " is used by another Coffer mount");
                }
                if (!PortAllocator.bindable(port)) {
                    throw HelperException.failure("tlsport=" + port + " is in use by another program");
                }
                st.tlsport = port;
            } else if (port != null) {
                st.tlsport = PortAllocator.pick(conf.portLow, conf.portHigh, taken, avoid);
            }
            Path file = store.stateFile(StateStore.baseName(st.fsId, st.mountpoint, st.tlsport));
            writeState(file, st);
            return file;
        } catch (HelperException e) {
            throw e;
        } catch (Exception e) {
            throw new HelperException(ExitCodes.SYSTEM, "cannot write state in " + store.dir() + ": " + e.getMessage());
        } finally {
            for (Map.Entry<Path, MountState> e : stale) {
                log.info("clearing stale state " + e.getKey().getFileName() + " of " + e.getValue().mountpoint);
                Teardown.run(store, e.getKey(), e.getValue(), 0, log);
            }
        }
    }

    private void writeState(Path file, MountState st) throws HelperException {
        try {
            store.write(file, st);
        } catch (IOException e) {
            throw new HelperException(ExitCodes.SYSTEM, "cannot write " + file + ": " + e.getMessage());
        }
    }

    /**
     * One RPC round trip (HELLO, NULL) to the server, through the tunnel when there is one, so an
     * unreachable server or a refused certificate is reported now, in one line, and not as a
     * daemon that hangs.
     */
    private void checkServer(MountRequest req, Prepared p, String host, int port, Path proxyLog, long logOffset)
            throws HelperException {
        MountState st = p.state;
        long deadline = System.currentTimeMillis() + conf.connectCheckTimeoutSec * 1000L;
        HealthCheck.Result r = null;
        for (int attempt = 0; ; attempt++) {
            long left = deadline - System.currentTimeMillis();
            r = HealthCheck.check(host, port, UUID.fromString(st.healthClientId), Math.max(1000, left));
            if (r.ok()) {
                verbose(req, "server " + st.server + " answered in " + r.millis() + " ms");
                return;
            }
            boolean retry = (r.verdict() == HealthCheck.Verdict.CLOSED || r.verdict() == HealthCheck.Verdict.REFUSED)
                    && attempt < 2 && System.currentTimeMillis() + 500 < deadline;
            if (!retry) {
                break;
            }
            sleep(500);
        }
        String via = proxyLog == null ? "" : " through the TLS tunnel";
        String why = switch (r.verdict()) {
            case TIMEOUT -> "no answer within " + conf.connectCheckTimeoutSec + " s";
            case PROTOCOL -> "it is not a Coffer server, or it refused us: " + r.detail();
            case REFUSED -> proxyLog == null ? "connection refused" : "the tunnel stopped listening";
            default -> {
                String proxyWhy = proxyLog == null ? null : Tunnel.lastError(proxyLog, logOffset);
                yield proxyWhy != null ? proxyWhy : proxyLog == null ? r.detail() + " (is it a Coffer server, and "
                        + "does it want TLS? then add -o tls)" : r.detail() + " (is " + st.server + " a TLS port of a "
                        + "Coffer server? tunnel log: " + proxyLog + ")";
            }
        };
        throw HelperException.failure("cannot reach the Coffer server at " + st.server + via + ": " + why);
    }

    /** Starts the client daemon of a prepared mount and waits until it has mounted. */
    public ProcessRef startDaemon(Prepared p) throws HelperException {
        return DaemonLauncher.start(launcher, childEnvironment(), p.daemonOptions, p.source, p.mountpoint.toString(),
                Path.of(p.state.daemonLog), conf.mountTimeoutSec * 1000L);
    }

    /** Records that the mount is made, with the process that serves it. */
    public void mounted(Prepared p, ProcessRef daemon) throws HelperException {
        MountState st = p.state;
        Optional<MountTable.Entry> e = MountTable.find(p.mountpoint);
        if (e.isEmpty() || !e.get().isCoffer()) {
            throw HelperException.failure("the daemon reported the mount ready but " + p.mountpoint
                    + " is not in /proc/self/mountinfo");
        }
        st.device = e.get().device();
        st.daemonPid = daemon.pid();
        st.daemonStartTicks = daemon.startTicks();
        st.phase = MountState.MOUNTED;
        try (AutoCloseable lock = store.lock()) {
            writeState(p.stateFile, st);
        } catch (HelperException ex) {
            throw ex;
        } catch (Exception ex) {
            throw new HelperException(ExitCodes.SYSTEM, "cannot write " + p.stateFile + ": " + ex.getMessage());
        }
        p.done = true;
        String how = st.tlsport != null ? "through a TLS tunnel (" + st.proxy + ", 127.0.0.1:" + st.tlsport + ", pid "
                + st.proxyPid + ")" : (st.tls ? "with TLS in the daemon" : "without TLS");
        log.info("mounted " + st.source + " on " + st.mountpoint + " from " + st.server + " " + how + ", daemon pid "
                + daemon.pid());
        if (!WatchdogControl.awaitRunning(paths, 20_000)) {
            err.println(name + ": warning: the watchdog did not start (see " + paths.logDir().resolve("watchdog.log")
                    + "): the tunnel of this mount is not supervised");
        }
    }

    /** Undoes a prepared mount that did not complete: processes, files, the port. Idempotent. */
    public void abort(Prepared p) {
        if (p.done) {
            return;
        }
        p.done = true;
        Teardown.run(store, p.stateFile, p.state, 0, log);
    }

    /** After a foreground mount ends: the same cleanup as after an unmount. */
    public void finish(Prepared p) {
        p.done = true;
        Teardown.run(store, p.stateFile, p.state, 0, log);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
