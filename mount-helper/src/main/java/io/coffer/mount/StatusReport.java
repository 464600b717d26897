package io.coffer.mount;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code coffer status}: every mount with its file system, server, tunnel port, TLS version and
 * cipher, proxy pid and health, and the bytes through the tunnel (from the proxy's status file).
 */
public final class StatusReport {
    /** One row. */
    public record Row(String mountpoint, String source, String server, Integer tlsport, String proxy, String tlsVersion,
            String cipher, Long proxyPid, boolean proxyAlive, String health, String healthDetail, String checkedAt,
            Long bytesIn, Long bytesOut, Long daemonPid, boolean daemonAlive, int proxyRestarts, String mountTime,
            String phase) {
    }

    private StatusReport() {
    }

    public static List<Row> collect(HelperPaths paths) {
        StateStore store = new StateStore(paths.stateDir());
        List<Row> rows = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (Map.Entry<Path, MountState> e : store.list().entrySet()) {
            MountState st = e.getValue();
            seen.add(st.mountpoint);
            ProcessRef proxy = st.proxyProcess();
            boolean proxyAlive = proxy != null && proxy.isAlive();
            ProcessRef daemon = st.daemonProcess();
            boolean daemonAlive = daemon != null && daemon.isAlive();
            String tlsVersion = null;
            String cipher = null;
            Long in = null;
            Long out = null;
            if (st.statusFile != null && proxyAlive) {
                try {
                    JsonNode s = StateStore.JSON.readTree(Files.readAllBytes(Path.of(st.statusFile)));
                    JsonNode svc = s.path("services").path(0);
                    tlsVersion = text(svc.get("tlsVersion"));
                    cipher = text(svc.get("cipherSuite"));
                    in = svc.has("bytesIn") ? svc.get("bytesIn").asLong() : null;
                    out = svc.has("bytesOut") ? svc.get("bytesOut").asLong() : null;
                } catch (IOException ex) {
                    // No status yet (stunnel has none).
                }
            }
            if ("stunnel".equals(st.proxy) && proxyAlive && st.proxyLog != null) {
                String[] c = Tunnel.stunnelCipher(Path.of(st.proxyLog));
                if (c != null) {
                    tlsVersion = c[0];
                    cipher = c[1];
                }
            }
            String health;
            String detail = null;
            String checkedAt = null;
            if (!MountState.MOUNTED.equals(st.phase)) {
                health = st.phase;
            } else if (!st.hasTunnel()) {
                health = "-";
            } else if (!proxyAlive) {
                health = "down";
            } else if (st.health == null) {
                health = "unchecked";
            } else {
                health = st.health.status;
                detail = st.health.detail;
                checkedAt = st.health.checkedAt;
            }
            rows.add(new Row(st.mountpoint, st.source, st.server, st.tlsport, st.proxy, tlsVersion, cipher, st.proxyPid,
                    proxyAlive, health, detail, checkedAt, in, out, st.daemonPid, daemonAlive, st.proxyRestarts,
                    st.mountTime, st.phase));
        }
        try {
            for (MountTable.Entry m : MountTable.read()) {
                if (m.isCoffer() && !seen.contains(m.mountPoint())) {
                    rows.add(new Row(m.mountPoint(), m.source(), null, null, null, null, null, null, false,
                            "no state", "mounted without mount.coffer, or with another state directory", null, null,
                            null, null, false, 0, null, MountState.MOUNTED));
                }
            }
        } catch (IOException e) {
            // Only the state files, then.
        }
        return rows;
    }

    private static String text(JsonNode n) {
        return n == null || n.isNull() ? null : n.asText();
    }

    public static void printTable(HelperPaths paths, List<Row> rows, PrintStream out) {
        String watchdog = WatchdogControl.running(paths.stateDir()).map(r -> "watchdog: running (pid " + r.pid() + ")")
                .orElse("watchdog: not running");
        if (rows.isEmpty()) {
            out.println("No Coffer mounts. " + watchdog);
            return;
        }
        String[] head = {"MOUNTPOINT", "FILE SYSTEM", "SERVER", "TLSPORT", "TLS", "CIPHER", "PROXY", "HEALTH", "IN", "OUT",
            "DAEMON"};
        List<String[]> lines = new ArrayList<>();
        lines.add(head);
        for (Row r : rows) {
            lines.add(new String[] {r.mountpoint(), r.source(), dash(r.server()), r.tlsport() == null ? "-" : r.tlsport().toString(),
                dash(r.tlsVersion()), dash(r.cipher()), r.proxyPid() == null ? "-" : r.proxyPid() + (r.proxyAlive() ? "" : " (dead)")
                    + ("stunnel".equals(r.proxy()) ? " stunnel" : ""),
                r.health() + age(r.checkedAt()), bytes(r.bytesIn()), bytes(r.bytesOut()),
                r.daemonPid() == null ? "-" : r.daemonPid() + (r.daemonAlive() ? "" : " (dead)")});
        }
        int[] w = new int[head.length];
        for (String[] l : lines) {
            for (int i = 0; i < l.length; i++) {
                w[i] = Math.max(w[i], l[i].length());
            }
        }
        for (String[] l : lines) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < l.length; i++) {
                sb.append(i == l.length - 1 ? l[i] : String.format("%-" + w[i] + "s  ", l[i]));
            }
            out.println(sb.toString().stripTrailing());
        }
        out.println(watchdog + "; state in " + paths.stateDir() + ", logs in " + paths.logDir());
    }

    public static void printJson(HelperPaths paths, List<Row> rows, PrintStream out) {
        ObjectNode root = StateStore.JSON.createObjectNode();
        root.put("watchdog_pid", WatchdogControl.running(paths.stateDir()).map(ProcessRef::pid).orElse(null));
        ArrayNode arr = root.putArray("mounts");
        for (Row r : rows) {
            arr.add(StateStore.JSON.valueToTree(r));
        }
        try {
            out.println(StateStore.JSON.writeValueAsString(root));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String dash(String s) {
        return s == null ? "-" : s;
    }

    private static String age(String at) {
        if (at == null) {
            return "";
        }
        try {
            long s = Duration.between(Instant.parse(at), Instant.now()).toSeconds();
            return " (" + s + " s ago)";
        } catch (RuntimeException e) {
            return "";
        }
    }

    static String bytes(Long n) {
        if (n == null) {
            return "-";
        }
        if (n < 1024) {
            return n + " B";
        }
        String[] u = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int i = -1;
        while (v >= 1024 && i < u.length - 1) {
            v /= 1024;
            i++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, u[i]);
    }
}
