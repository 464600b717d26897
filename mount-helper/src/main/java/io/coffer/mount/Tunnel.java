package io.coffer.mount;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The TLS tunnel of a mount: its stunnel-syntax configuration (the same file serves
 * {@code coffer proxy} and Debian's stunnel4), the command that runs it, and starting it until it
 * says it listens.
 *
 * <p>Readiness is never guessed by probing the port. {@code coffer proxy} writes its ready file
 * (the READY lines) once its listener is bound. stunnel4 has no ready signal; it writes its pid
 * file after binding its listeners (stunnel.c binds in main_configure() before it creates the pid
 * file), so the pid file naming the process we started is the signal.
 */
final class Tunnel {
    /** What the configuration says beyond what the state file holds. */
    record Settings(String caFile, String certFile, String keyFile, int verify, String provider) {
    }

    /** A started proxy. {@code process} is the handle when we are its parent (it is then reaped), else null. */
    record Started(ProcessRef ref, Process process, long readyMillis) {
    }

    /** The proxy could not bind its port: another program holds it. */
    static final class PortInUseException extends Exception {
        private static final long serialVersionUID = 1L;

        PortInUseException(String message) {
            super(message);
        }
    }

    private Tunnel() {
    }

    static String config(MountState st, Settings s) {
        StringBuilder c = new StringBuilder();
        c.append("# Written by mount.coffer for ").append(st.source).append(" on ").append(st.mountpoint)
                .append(" at ").append(Instant.now()).append(".\n");
        c.append("# The watchdog restarts the tunnel with this file; it is removed after unmount.\n");
        c.append("fips = no\n");
        c.append("foreground = yes\n");
        c.append("pid = ").append(st.pidFile).append('\n');
        c.append("socket = l:SO_REUSEADDR=yes\n");
        c.append("socket = a:SO_BINDTODEVICE=lo\n");
        if ("stunnel".equals(st.proxy)) {
            // stunnel has no status file; at level 6 it logs each handshake's version and cipher.
            c.append("debug = 6\n");
        }
        c.append('\n');
        c.append('[').append(serviceName(st)).append("]\n");
        c.append("client = yes\n");
        c.append("accept = 127.0.0.1:").append(st.tlsport).append('\n');
        c.append("connect = ").append(st.server).append('\n');
        c.append("sslVersionMin = TLSv1.2\n");
        c.append("renegotiation = no\n");
        c.append("TIMEOUTbusy = 20\n");
        c.append("TIMEOUTclose = 0\n");
        c.append("delay = yes\n");
        c.append("libwrap = no\n");
        c.append("verify = ").append(s.verify()).append('\n');
        if (s.caFile() != null) {
            c.append("CAfile = ").append(s.caFile()).append('\n');
        }
        if (s.verify() > 0 && st.checkHost != null) {
            c.append(isIpLiteral(st.checkHost) ? "checkIP = " : "checkHost = ").append(st.checkHost).append('\n');
        }
        if (s.certFile() != null) {
            c.append("cert = ").append(s.certFile()).append('\n');
            c.append("key = ").append(s.keyFile()).append('\n');
        }
        return c.toString();
    }

    static String serviceName(MountState st) {
        return "coffer." + StateStore.baseName(st.fsId, st.mountpoint, st.tlsport);
    }

    static boolean isIpLiteral(String host) {
        if (host.contains(":")) {
            return true;
        }
        return host.matches("\\d{1,3}(\\.\\d{1,3}){3}");
    }

    /** {@code host:port}, with brackets for IPv6. */
    static String hostPort(String host, int port) {
        return (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
    }

    static List<String> command(String proxy, CofferLauncher launcher, CofferConf conf, MountState st, Settings s) {
        if (proxy.equals("stunnel")) {
            return List.of(conf.stunnelCommand, st.config);
        }
        List<String> args = new ArrayList<>(List.of("proxy", "--config", st.config, "--ready-file", st.readyFile,
                "--status-file", st.statusFile, "--status-interval", "2"));
        if (s.provider() != null && !s.provider().isEmpty()) {
            args.add("--provider");
            args.add(s.provider());
        }
        if (s.verify() == 0) {
            args.add("--allow-unverified");
        }
        return launcher.command(args);
    }

    /**
     * Starts the proxy of {@code st} with its command and configuration and waits until it
     * listens.
     *
     * @throws PortInUseException if another program holds the port
     * @throws HelperException (32) with the proxy's own reason if it fails or is not ready in time
     */
    static Started start(MountState st, Map<String, String> env, long timeoutMillis)
            throws HelperException, PortInUseException {
        Path ready = Path.of(st.readyFile);
        Path pid = Path.of(st.pidFile);
        Path log = Path.of(st.proxyLog);
        try {
            Files.deleteIfExists(ready);
            Files.deleteIfExists(pid);
        } catch (IOException e) {
            throw new HelperException(ExitCodes.SYSTEM, "cannot clear " + ready + ": " + e.getMessage());
        }
        long offset = Spawn.size(log);
        long t0 = System.nanoTime();
        Process p;
        try {
            boolean coffer = "coffer".equals(st.proxy);
            List<String> cmd = coffer ? direct(st) : st.command;
            Map<String, String> e = coffer ? ClassDataArchive.environment(stateDir(st), env) : env;
            if (cmd != st.command && st.proxyExecEnv != null) {
                e = new java.util.LinkedHashMap<>(e);
                e.putAll(st.proxyExecEnv);
            }
            p = Spawn.detached(cmd, e, log, false);
        } catch (IOException e) {
            throw HelperException.failure("cannot start the TLS proxy (" + st.command.get(0) + "): " + e.getMessage());
        }
        boolean stunnel = "stunnel".equals(st.proxy);
        long deadline = t0 + timeoutMillis * 1_000_000L;
        while (true) {
            Long readyPid = stunnel ? pidFrom(pid) : (readyFrom(ready) ? pidFrom(pid) : null);
            if (readyPid != null) {
                ProcessRef ref = ProcessRef.of(readyPid).orElse(null);
                if (ref != null) {
                    return new Started(ref, readyPid == p.pid() ? p : null, (System.nanoTime() - t0) / 1_000_000);
                }
            }
            if (!p.isAlive()) {
                String out = Spawn.since(log, offset);
                String reason = failureLine(out, stunnel);
                if (out.contains("Address already in use") || out.contains("address already in use")) {
                    throw new PortInUseException(reason);
                }
                throw HelperException.failure("the TLS proxy exited at start (exit " + p.exitValue() + "): "
                        + (reason == null ? "see " + log : reason + " (log: " + log + ")"));
            }
            if (System.nanoTime() > deadline) {
                ProcessRef.of(p.pid()).ifPresent(r -> r.stop(1000));
                throw HelperException.failure("the TLS proxy did not listen within " + timeoutMillis / 1000
                        + " s; see " + log);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                ProcessRef.of(p.pid()).ifPresent(r -> r.stop(1000));
                throw HelperException.failure("interrupted while starting the TLS proxy");
            }
        }
    }

    /**
     * The recorded JVM command line of the mount's proxy when its JVM is still installed (with
     * the class archive mapped, if one exists now), else the launcher command.
     */
    static List<String> direct(MountState st) {
        List<String> exec = st.proxyExec;
        if (exec == null || exec.isEmpty() || !Files.isExecutable(Path.of(exec.get(0)))) {
            return st.command;
        }
        Path archive = ClassDataArchive.path(stateDir(st));
        if (exec.stream().noneMatch(a -> a.startsWith("-XX:SharedArchiveFile=")) && Files.isRegularFile(archive)) {
            List<String> withArchive = new ArrayList<>(exec);
            withArchive.addAll(1, List.of("-XX:SharedArchiveFile=" + archive, "-Xshare:auto", "-Xlog:cds=off,cds+dynamic=off"));
            return withArchive;
        }
        return exec;
    }

    /** The command line of a running process, from /proc/PID/cmdline. */
    static List<String> commandLine(long pid) {
        try {
            byte[] b = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            List<String> args = new ArrayList<>();
            int start = 0;
            for (int i = 0; i < b.length; i++) {
                if (b[i] == 0) {
                    args.add(new String(b, start, i - start, StandardCharsets.UTF_8));
                    start = i + 1;
                }
            }
            return args;
        } catch (IOException e) {
            return List.of();
        }
    }

    /** The variables of a running process's environment that differ from ours, from /proc/PID/environ. */
    static Map<String, String> environmentAddedTo(long pid, Map<String, String> ours) {
        Map<String, String> added = new java.util.TreeMap<>();
        try {
            byte[] b = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ"));
            int start = 0;
            for (int i = 0; i < b.length; i++) {
                if (b[i] == 0) {
                    String kv = new String(b, start, i - start, StandardCharsets.UTF_8);
                    start = i + 1;
                    int eq = kv.indexOf('=');
                    if (eq > 0 && !kv.substring(eq + 1).equals(ours.get(kv.substring(0, eq)))) {
                        added.put(kv.substring(0, eq), kv.substring(eq + 1));
                    }
                }
            }
        } catch (IOException e) {
            return Map.of();
        }
        return added;
    }

    /** The state directory holds a mount's pid file. */
    private static Path stateDir(MountState st) {
        return Path.of(st.pidFile).getParent();
    }

    private static boolean readyFrom(Path ready) {
        try {
            String text = Files.readString(ready, StandardCharsets.UTF_8);
            return text.endsWith("READY\n");
        } catch (IOException e) {
            return false;
        }
    }

    private static Long pidFrom(Path pidFile) {
        try {
            String text = Files.readString(pidFile, StandardCharsets.US_ASCII).strip();
            return text.isEmpty() ? null : Long.parseLong(text);
        } catch (IOException | NumberFormatException e) {
            return null;
        }
    }

    /** The proxy's own error line: "proxy: error: ..." from coffer proxy, a LOG3 line from stunnel. */
    static String failureLine(String out, boolean stunnel) {
        String line = Spawn.lastLine(out, l -> l.contains("error:") || l.contains("LOG3[") || l.contains("ERROR")
                || l.toLowerCase(Locale.ROOT).contains("exception"));
        if (line == null) {
            line = Spawn.lastLine(out, l -> !l.contains("LOG5[") && !l.contains(" INFO "));
        }
        if (line == null) {
            return null;
        }
        int log3 = line.indexOf("]: ");
        if (stunnel && log3 > 0) {
            line = "stunnel: " + line.substring(log3 + 3);
        }
        return line;
    }

    /** Last connection error the proxy logged after {@code offset}, for an unreachable-server message. */
    static String lastError(Path log, long offset) {
        String out = Spawn.since(log, offset);
        String line = Spawn.lastLine(out, l -> l.contains("ERROR") || l.contains("LOG3[") || l.contains("failed")
                || l.contains("refused"));
        if (line == null) {
            return null;
        }
        int at = line.indexOf(" - ");
        if (at > 0 && line.indexOf("ERROR") >= 0 && at < 120) {
            line = line.substring(at + 3);
        }
        int log3 = line.indexOf("]: ");
        if (line.contains("LOG3[") && log3 > 0) {
            line = line.substring(log3 + 3);
        }
        return line;
    }

    /** The TLS version and cipher of stunnel's last handshake, from its log: "TLSv1.3 ciphersuite: NAME (...)". */
    static String[] stunnelCipher(Path log) {
        String out = Spawn.since(log, Math.max(0, Spawn.size(log) - 65536));
        String line = Spawn.lastLine(out, l -> l.contains(" ciphersuite: "));
        if (line == null) {
            return null;
        }
        String tail = line.substring(line.indexOf("]: ") + 3);
        String[] f = tail.split(" ");
        return f.length >= 3 ? new String[] {f[0], f[2]} : null;
    }

    static InetAddress resolve(String host) throws java.net.UnknownHostException {
        return InetAddress.getByName(host);
    }
}
