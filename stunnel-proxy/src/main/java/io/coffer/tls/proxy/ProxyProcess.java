package io.coffer.tls.proxy;

import io.coffer.tls.TlsSetupException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * The proxy as a stand-alone process: {@link TlsProxy} plus a pid file, the readiness protocol,
 * signal handling and a status file.
 *
 * <p>Readiness: once every listener is bound, one line {@code READY <service> <host:port>} per service
 * and then a line {@code READY} are printed to the given stream (stdout), and the same lines are
 * written atomically to the ready file if one was asked for. Nothing else is printed to that stream.
 *
 * <p>Signals: SIGHUP reloads certificates, keys and CA files (new connections use them, open ones are
 * untouched) and reopens the {@code output} log; SIGUSR1 writes the status file now. SIGTERM and
 * SIGINT stop the proxy through the JVM's shutdown hooks. Handlers are installed with
 * {@code sun.misc.Signal} (module jdk.unsupported), the only way the JDK offers to catch SIGHUP.
 *
 * <p>Status: {@link ProxyStatus#toJson()} is written atomically to the status file (by default
 * {@code <pid file>.status}) every status interval, after each reload, on SIGUSR1 and on request.
 */
public final class ProxyProcess implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProxyProcess.class);

    /**
     * Process options.
     *
     * @param readyFile where to write the READY lines as well
     * @param statusFile where to write status JSON; if empty and the config names a pid file, {@code <pid>.status}
     * @param statusInterval how often to rewrite the status file
     * @param handleSignals install SIGHUP/SIGUSR1 handlers (off for in-process tests that run several proxies)
     */
    public record Options(Optional<Path> readyFile, Optional<Path> statusFile, Duration statusInterval,
            boolean handleSignals) {
        public static Options defaults() {
            return new Options(Optional.empty(), Optional.empty(), Duration.ofSeconds(5), true);
        }
    }

    private final TlsProxy proxy;
    private final Optional<Path> pidFile;
    private final Optional<Path> readyFile;
    private final Optional<Path> statusFile;
    private final ScheduledExecutorService worker;
    private final CountDownLatch closed = new CountDownLatch(1);
    private final List<Runnable> restoreSignals = new ArrayList<>();

    private ProxyProcess(TlsProxy proxy, Optional<Path> pidFile, Optional<Path> readyFile, Optional<Path> statusFile) {
        this.proxy = proxy;
        this.pidFile = pidFile;
        this.readyFile = readyFile;
        this.statusFile = statusFile;
        this.worker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "coffer-proxy-control");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Starts the proxy, writes the pid file, prints the READY lines to {@code out} and returns.
     *
     * @throws TlsSetupException if TLS material cannot be loaded
     * @throws IOException if a listener cannot bind or a file cannot be written
     */
    public static ProxyProcess start(ProxyConfig config, Options options, PrintStream out)
            throws TlsSetupException, IOException {
        Optional<Path> status = options.statusFile().isPresent() ? options.statusFile()
                : config.pidFile().map(p -> p.resolveSibling(p.getFileName() + ".status"));
        TlsProxy proxy = TlsProxy.start(config);
        ProxyProcess pp = new ProxyProcess(proxy, config.pidFile(), options.readyFile(), status);
        boolean ok = false;
        try {
            if (config.pidFile().isPresent()) {
                writeAtomically(config.pidFile().get(), ProcessHandle.current().pid() + "\n");
            }
            if (options.handleSignals()) {
                pp.installSignals();
            }
            pp.writeStatus();
            long every = Math.max(100, options.statusInterval().toMillis());
            pp.worker.scheduleWithFixedDelay(pp::writeStatusQuietly, every, every, TimeUnit.MILLISECONDS);
            StringBuilder lines = new StringBuilder();
            for (BoundService s : proxy.services()) {
                lines.append("READY ").append(s.name()).append(' ').append(s.hostPort()).append('\n');
            }
            lines.append("READY\n");
            if (options.readyFile().isPresent()) {
                writeAtomically(options.readyFile().get(), lines.toString());
            }
            out.print(lines);
            out.flush();
            ok = true;
            return pp;
        } finally {
            if (!ok) {
                pp.close();
            }
        }
    }

    public TlsProxy proxy() {
        return proxy;
    }

    public Optional<Path> statusFile() {
        return statusFile;
    }

    /** Reloads certificates and keys, reopens the log and rewrites the status file. */
    public ReloadOutcome reload() {
        ReloadOutcome outcome = proxy.reload();
        try {
            proxy.reopenLog();
        } catch (IOException e) {
            LOG.warn("cannot reopen the log output: {}", e.getMessage());
        }
        writeStatusQuietly();
        return outcome;
    }

    /** Writes the status file now (no-op without one). */
    public void writeStatus() throws IOException {
        if (statusFile.isPresent() && !proxy.isClosed()) {
            writeAtomically(statusFile.get(), proxy.status().toJson() + "\n");
        }
    }

    private void writeStatusQuietly() {
        try {
            writeStatus();
        } catch (IOException | RuntimeException e) {
            LOG.warn("cannot write status file {}: {}", statusFile.orElse(null), e.getMessage());
        }
    }

    private void installSignals() {
        install("HUP", sig -> worker.execute(() -> {
            LOG.info("SIGHUP: reloading certificates and keys");
            try {
                ReloadOutcome o = reload();
                o.failures().forEach(f -> LOG.error("reload: {}", f));
            } catch (RuntimeException | Error e) {
                // The executor would swallow it and the reload would fail without a word.
                LOG.error("reload failed: {}", e.toString(), e);
            }
        }));
        install("USR1", sig -> worker.execute(this::writeStatusQuietly));
    }

    private void install(String name, SignalHandler handler) {
        try {
            Signal sig = new Signal(name);
            SignalHandler previous = Signal.handle(sig, handler);
            if (previous == SignalHandler.SIG_IGN) {
                // The JVM leaves a signal that was ignored at start (nohup) ignored, and says nothing.
                LOG.warn("SIG{} was ignored when this process started (nohup?), so it cannot be caught here; "
                        + "start the proxy with SIG{} at its default (bin/coffer does: env --default-signal={})",
                        name, name, name);
                return;
            }
            restoreSignals.add(() -> Signal.handle(sig, previous));
        } catch (IllegalArgumentException e) {
            // The JVM reserves some signals (e.g. with -Xrs); the proxy still works without the handler.
            LOG.warn("cannot handle SIG{}: {}", name, e.getMessage());
        }
    }

    /** Blocks until {@link #close()} has run. */
    public void awaitClose() throws InterruptedException {
        closed.await();
    }

    @Override
    public void close() {
        if (closed.getCount() == 0) {
            return;
        }
        restoreSignals.forEach(Runnable::run);
        worker.shutdownNow();
        proxy.close();
        for (Optional<Path> f : List.of(readyFile, statusFile)) {
            f.ifPresent(ProxyProcess::deleteQuietly);
        }
        pidFile.ifPresent(p -> {
            // Another instance (the watchdog's replacement) may own the pid file by now.
            try {
                if (Files.exists(p) && Files.readString(p).trim().equals(Long.toString(ProcessHandle.current().pid()))) {
                    Files.delete(p);
                }
            } catch (IOException e) {
                LOG.debug("cannot remove pid file {}: {}", p, e.getMessage());
            }
        });
        closed.countDown();
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            LOG.debug("cannot remove {}: {}", p, e.getMessage());
        }
    }

    static void writeAtomically(Path file, String text) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            // Readers (the mount helper, monitoring) need not run as the proxy's user.
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
