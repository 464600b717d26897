package io.coffer.mount;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The defaults of mount.coffer and the watchdog, from /etc/coffer/coffer.conf: INI sections of
 * {@code key = value} lines, {@code #} or {@code ;} comments. A missing file means the built-in
 * defaults; an unknown section, key or bad value is an error naming the file and line, so a typo
 * never silently runs with a default. The reference is in docs/operations.md.
 */
public final class CofferConf {
    public enum LogLevel { DEBUG, INFO, WARNING, ERROR }

    private static final Map<String, Set<String>> KEYS = Map.of(
            "mount", Set.of("dns_name_format", "port_range_lower_bound", "port_range_upper_bound", "proxy", "cafile",
                    "stunnel_command", "proxy_provider", "proxy_ready_timeout_sec", "mount_timeout_sec",
                    "connect_check_timeout_sec"),
            "watchdog", Set.of("poll_interval_ms", "health_check_interval_sec", "health_check_timeout_sec",
                    "health_check_failures", "unmount_grace_sec", "idle_exit_sec"),
            "log", Set.of("level", "max_bytes", "backup_count"));

    public final Path source;
    public final String dnsNameFormat;
    public final int portLow;
    public final int portHigh;
    public final String proxy;
    public final String caFile;
    public final String stunnelCommand;
    public final String proxyProvider;
    public final int proxyReadyTimeoutSec;
    public final int mountTimeoutSec;
    public final int connectCheckTimeoutSec;
    public final int pollIntervalMs;
    public final int healthCheckIntervalSec;
    public final int healthCheckTimeoutSec;
    public final int healthCheckFailures;
    public final int unmountGraceSec;
    public final int idleExitSec;
    public final LogLevel logLevel;
    public final long logMaxBytes;
    public final int logBackupCount;

    private CofferConf(Path source, Map<String, Line> v) throws HelperException {
        this.source = source;
        dnsNameFormat = str(v, "mount.dns_name_format", "{fs_id}.coffer.internal");
        if (!dnsNameFormat.contains("{fs_id}")) {
            throw bad(v, "mount.dns_name_format", "must contain {fs_id}");
        }
        String rest = dnsNameFormat.replace("{fs_id}", "");
        if (rest.contains("{") || rest.contains("}")) {
            throw bad(v, "mount.dns_name_format", "the only placeholder is {fs_id}");
        }
        portLow = num(v, "mount.port_range_lower_bound", 20049, 1024, 65535);
        portHigh = num(v, "mount.port_range_upper_bound", 21049, 1024, 65535);
        if (portHigh < portLow) {
            throw bad(v, "mount.port_range_upper_bound", "is below port_range_lower_bound");
        }
        proxy = str(v, "mount.proxy", "coffer");
        if (!List.of("coffer", "stunnel", "none").contains(proxy)) {
            throw bad(v, "mount.proxy", "expected coffer, stunnel or none");
        }
        caFile = str(v, "mount.cafile", "/etc/coffer/ca.pem");
        stunnelCommand = str(v, "mount.stunnel_command", "stunnel4");
        proxyProvider = str(v, "mount.proxy_provider", "");
        if (!List.of("", "jdk", "conscrypt", "openssl").contains(proxyProvider)) {
            throw bad(v, "mount.proxy_provider", "expected jdk, conscrypt, openssl or nothing");
        }
        proxyReadyTimeoutSec = num(v, "mount.proxy_ready_timeout_sec", 60, 1, 3600);
        mountTimeoutSec = num(v, "mount.mount_timeout_sec", 120, 1, 3600);
        connectCheckTimeoutSec = num(v, "mount.connect_check_timeout_sec", 15, 1, 3600);
        pollIntervalMs = num(v, "watchdog.poll_interval_ms", 500, 50, 10_000);
        healthCheckIntervalSec = num(v, "watchdog.health_check_interval_sec", 5, 1, 3600);
        healthCheckTimeoutSec = num(v, "watchdog.health_check_timeout_sec", 5, 1, 600);
        healthCheckFailures = num(v, "watchdog.health_check_failures", 2, 1, 100);
        unmountGraceSec = num(v, "watchdog.unmount_grace_sec", 3, 0, 600);
        idleExitSec = num(v, "watchdog.idle_exit_sec", 30, 1, 86_400);
        String level = str(v, "log.level", "info");
        try {
            logLevel = LogLevel.valueOf(level.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw bad(v, "log.level", "expected debug, info, warning or error");
        }
        logMaxBytes = num(v, "log.max_bytes", 10 << 20, 4096, Integer.MAX_VALUE);
        logBackupCount = num(v, "log.backup_count", 5, 0, 100);
    }

    private record Line(String value, int number) {
    }

    /** The built-in defaults (no file). */
    public static CofferConf defaults() {
        try {
            return new CofferConf(null, Map.of());
        } catch (HelperException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads {@code file}; the defaults if it does not exist. */
    public static CofferConf load(Path file) throws HelperException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return defaults();
        } catch (java.nio.file.AccessDeniedException e) {
            throw HelperException.usage("cannot read " + file + ": permission denied");
        } catch (IOException e) {
            throw HelperException.usage("cannot read " + file + ": " + e.getMessage());
        }
        return parse(file, text);
    }

    static CofferConf parse(Path file, String text) throws HelperException {
        Map<String, Line> values = new LinkedHashMap<>();
        String section = null;
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            int n = i + 1;
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
                continue;
            }
            if (line.startsWith("[")) {
                if (!line.endsWith("]")) {
                    throw HelperException.usage(file + ":" + n + ": bad section header: " + line);
                }
                section = line.substring(1, line.length() - 1).strip();
                if (!KEYS.containsKey(section)) {
                    throw HelperException.usage(file + ":" + n + ": unknown section [" + section + "] (known: [mount], [watchdog], [log])");
                }
                continue;
            }
            int eq = line.indexOf('=');
            if (eq < 0) {
                throw HelperException.usage(file + ":" + n + ": expected key = value: " + line);
            }
            String key = line.substring(0, eq).strip();
            String value = line.substring(eq + 1).strip();
            if (section == null) {
                throw HelperException.usage(file + ":" + n + ": " + key + " is outside a section");
            }
            if (!KEYS.get(section).contains(key)) {
                throw HelperException.usage(file + ":" + n + ": unknown key " + key + " in [" + section + "]");
            }
            String full = section + "." + key;
            if (values.containsKey(full)) {
                throw HelperException.usage(file + ":" + n + ": " + key + " is set twice in [" + section + "]");
            }
            values.put(full, new Line(value, n));
        }
        return new CofferConf(file, values);
    }

    private HelperException bad(Map<String, Line> v, String key, String why) {
        Line l = v.get(key);
        String where = l == null ? "built-in default" : source + ":" + l.number();
        String shortKey = key.substring(key.indexOf('.') + 1);
        return HelperException.usage(where + ": " + shortKey + " " + why);
    }

    private static String str(Map<String, Line> v, String key, String dflt) {
        Line l = v.get(key);
        return l == null ? dflt : l.value();
    }

    private int num(Map<String, Line> v, String key, int dflt, int min, int max) throws HelperException {
        Line l = v.get(key);
        if (l == null) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(l.value());
            if (n < min || n > max) {
                throw bad(v, key, "= " + l.value() + " is out of range " + min + ".." + max);
            }
            return n;
        } catch (NumberFormatException e) {
            throw bad(v, key, "= " + l.value() + " is not a whole number");
        }
    }

    /** The file {@code coffer install} writes when there is none: every key, at its default, documented. */
    public static String template() {
        try (InputStream in = CofferConf.class.getResourceAsStream("coffer.conf")) {
            if (in == null) {
                throw new IllegalStateException("coffer.conf template missing from the build");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
