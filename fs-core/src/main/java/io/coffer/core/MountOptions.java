package io.coffer.core;

import io.coffer.core.rpc.Protocol;
import io.coffer.core.status.InvalException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code -o} options of a Coffer mount, as {@code mount.coffer} and {@code coffer mount}
 * take them. Parsing is strict: an unknown option or a bad value is an error naming it, so a
 * typo never silently mounts with defaults. See docs/operations.md for the reference.
 */
public final class MountOptions {
    public enum Proxy { COFFER, STUNNEL, NONE }

    private final Map<String, String> raw;
    public final String addr;
    public final int port;
    public final boolean tls;
    public final Proxy proxy;
    public final Integer tlsPort;
    public final String caFile;
    public final String certFile;
    public final String keyFile;
    public final int verify;
    public final String checkHost;
    public final boolean readOnly;
    public final boolean soft;
    public final int timeoSeconds;
    public final int connections;
    public final int attrTimeoutSeconds;
    public final boolean allowOther;
    public final boolean netdev;
    public final boolean nofail;
    public final boolean noauto;
    public final boolean user;
    public final boolean debug;
    public final String tlsProvider;
    public final int writeBufferMiB;
    /** Flags passed to the kernel unchanged (nosuid, nodev, noexec, ...). */
    public final List<String> kernelFlags;

    private static final List<String> KERNEL_FLAGS = List.of("suid", "nosuid", "dev", "nodev", "exec", "noexec",
            "atime", "noatime", "relatime", "norelatime", "strictatime", "diratime", "nodiratime", "sync", "async",
            "dirsync", "lazytime", "nolazytime", "silent", "loud", "mand", "nomand", "iversion", "noiversion");

    private MountOptions(Map<String, String> raw) throws InvalException {
        this.raw = raw;
        addr = raw.get("addr");
        port = intOpt("port", Protocol.DEFAULT_PORT, 1, 65535);
        tls = raw.containsKey("tls") && !raw.containsKey("notls");
        String p = raw.getOrDefault("proxy", "coffer");
        proxy = switch (p) {
            case "coffer" -> Proxy.COFFER;
            case "stunnel" -> Proxy.STUNNEL;
            case "none" -> Proxy.NONE;
            default -> throw new InvalException("bad mount option proxy=" + p + " (expected coffer, stunnel or none)");
        };
        tlsPort = raw.containsKey("tlsport") ? intOpt("tlsport", 0, 1, 65535) : null;
        caFile = raw.get("cafile");
        certFile = raw.get("cert");
        keyFile = raw.get("key");
        verify = intOpt("verify", 2, 0, 2);
        checkHost = raw.get("checkhost");
        if ((certFile == null) != (keyFile == null)) {
            throw new InvalException("mount options cert= and key= go together");
        }
        if (!tls && (raw.containsKey("tlsport") || caFile != null || certFile != null || raw.containsKey("verify"))) {
            throw new InvalException("mount options tlsport, cafile, cert, key and verify need -o tls");
        }
        boolean ro = raw.containsKey("ro");
        if (ro && raw.containsKey("rw")) {
            throw new InvalException("mount options ro and rw contradict each other");
        }
        readOnly = ro;
        if (raw.containsKey("soft") && raw.containsKey("hard")) {
            throw new InvalException("mount options soft and hard contradict each other");
        }
        soft = raw.containsKey("soft");
        timeoSeconds = intOpt("timeo", soft ? 30 : 60, 1, 3600);
        connections = intOpt("nconnect", 2, 1, 16);
        attrTimeoutSeconds = intOpt("actimeo", 1, 0, 3600);
        allowOther = !raw.containsKey("noallow_other");
        netdev = raw.containsKey("_netdev");
        nofail = raw.containsKey("nofail");
        noauto = raw.containsKey("noauto");
        user = raw.containsKey("user") || raw.containsKey("users");
        debug = raw.containsKey("debug");
        tlsProvider = raw.get("tlsprovider");
        writeBufferMiB = intOpt("writebuf", 8, 4, 1024);
        List<String> flags = new ArrayList<>();
        for (String k : raw.keySet()) {
            if (KERNEL_FLAGS.contains(k)) {
                flags.add(k);
            }
        }
        kernelFlags = Collections.unmodifiableList(flags);
    }

    private static final List<String> KNOWN = List.of("addr", "port", "tls", "notls", "proxy", "tlsport", "cafile",
            "cert", "key", "verify", "checkhost", "ro", "rw", "soft", "hard", "timeo", "nconnect", "actimeo",
            "noallow_other", "allow_other", "_netdev", "nofail", "noauto", "auto", "user", "users", "nouser",
            "defaults", "debug", "tlsprovider", "writebuf");
    private static final List<String> VALUED = List.of("addr", "port", "proxy", "tlsport", "cafile", "cert", "key",
            "verify", "checkhost", "timeo", "nconnect", "actimeo", "tlsprovider", "writebuf");

    /** Parses a comma-separated option string (may be null or empty). */
    public static MountOptions parse(String options) throws InvalException {
        Map<String, String> raw = new LinkedHashMap<>();
        if (options != null && !options.isBlank()) {
            for (String part : options.split(",")) {
                if (part.isEmpty()) {
                    continue;
                }
                int eq = part.indexOf('=');
                String k = eq < 0 ? part : part.substring(0, eq);
                String v = eq < 0 ? null : part.substring(eq + 1);
                if (!KNOWN.contains(k) && !KERNEL_FLAGS.contains(k)) {
                    throw new InvalException("unknown mount option: " + k);
                }
                if (VALUED.contains(k) && (v == null || v.isEmpty())) {
                    throw new InvalException("mount option " + k + " needs a value (" + k + "=...)");
                }
                if (!VALUED.contains(k) && v != null) {
                    throw new InvalException("mount option " + k + " takes no value");
                }
                raw.put(k, v);
            }
        }
        return new MountOptions(raw);
    }

    private int intOpt(String name, int dflt, int min, int max) throws InvalException {
        String v = raw.get(name);
        if (v == null) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(v);
            if (n < min || n > max) {
                throw new InvalException("mount option " + name + "=" + v + " out of range " + min + ".." + max);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new InvalException("mount option " + name + "=" + v + " is not a number");
        }
    }

    public boolean has(String name) {
        return raw.containsKey(name);
    }

    public String get(String name) {
        return raw.get(name);
    }

    /** The options back as a string, in the order given. */
    public String format() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> e : raw.entrySet()) {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(e.getKey());
            if (e.getValue() != null) {
                sb.append('=').append(e.getValue());
            }
        }
        return sb.toString();
    }

    /** A copy with {@code key} set (or replaced). */
    public MountOptions with(String key, String value) throws InvalException {
        Map<String, String> m = new LinkedHashMap<>(raw);
        m.put(key, value);
        return new MountOptions(m);
    }

    /** A copy without {@code key}. */
    public MountOptions without(String key) throws InvalException {
        Map<String, String> m = new LinkedHashMap<>(raw);
        m.remove(key);
        return new MountOptions(m);
    }

    /** {@code fs-XXXXXXXX[:/path]} split into the id and the path ("/" when absent). */
    public record Source(FileSystemId fs, String path) {
        public static Source parse(String source) throws InvalException {
            if (source == null || source.isEmpty()) {
                throw new InvalException("missing source (expected fs-XXXXXXXX[:/path])");
            }
            int colon = source.indexOf(':');
            String id = colon < 0 ? source : source.substring(0, colon);
            String path = colon < 0 ? "/" : source.substring(colon + 1);
            if (!FileSystemId.isValid(id)) {
                throw new InvalException("bad source '" + source + "': expected fs-XXXXXXXX[:/path] with 8 hex digits");
            }
            if (path.isEmpty()) {
                path = "/";
            }
            if (!path.startsWith("/")) {
                throw new InvalException("bad source '" + source + "': the path must start with /");
            }
            for (String part : path.split("/")) {
                if (part.equals("..")) {
                    throw new InvalException("bad source '" + source + "': '..' is not allowed in the path");
                }
            }
            return new Source(FileSystemId.parse(id), path);
        }

        @Override
        public String toString() {
            return fs + ":" + path;
        }
    }
}
