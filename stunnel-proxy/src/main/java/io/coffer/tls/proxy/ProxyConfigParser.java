package io.coffer.tls.proxy;

import io.coffer.tls.CipherSuites;
import io.coffer.tls.ClientAuthentication;
import io.coffer.tls.PeerVerification;
import io.coffer.tls.TlsPolicy;
import io.coffer.tls.TlsProtocol;
import io.coffer.tls.TlsProvider;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads the stunnel configuration syntax (the subset that efs-utils and Coffer's mount helper
 * generate) and refuses anything unknown or unsafe, naming the file and line.
 *
 * <p>Syntax: one {@code key = value} per line (spaces around {@code =} optional, option names
 * case-insensitive), whole-line comments starting with {@code ;} or {@code #}, blank lines, and
 * {@code [name]} starting a service. Options before the first service are global; service options
 * given there are defaults for every service, as in stunnel. See {@code docs/proxy.md} for each option.
 *
 * <p>Deliberate differences from stunnel, all in the direction of safety: in client mode the server
 * is verified by default (stunnel verifies nothing unless told), {@code verify = 0} in client mode is
 * refused unless {@link Options#allowUnverifiedPeer()}, the server's name is checked against the
 * {@code connect} host when no {@code checkHost}/{@code checkIP} is given, a client-mode {@code accept}
 * must be a loopback address, and protocol versions below TLS 1.2, non-AEAD or non-ECDHE suites,
 * renegotiation and compression cannot be enabled.
 */
public final class ProxyConfigParser {
    private static final Pattern SECTION_NAME = Pattern.compile("[A-Za-z0-9_.-]+");
    private static final long MAX_TIMEOUT_SECONDS = 31L * 24 * 3600;

    private static final Map<String, String> GLOBAL = canonical(
            "foreground", "pid", "debug", "output", "fips", "syslog");
    private static final Map<String, String> SERVICE = canonical(
            "client", "accept", "connect", "CAfile", "CApath", "cert", "key", "verify", "verifyChain", "verifyPeer",
            "checkHost", "checkIP", "sslVersion", "sslVersionMin", "sslVersionMax", "ciphers", "ciphersuites",
            "TIMEOUTidle", "TIMEOUTclose", "TIMEOUTconnect", "TIMEOUTbusy", "delay", "renegotiation", "libwrap",
            "OCSPaia", "OCSP", "sni", "socket");
    private static final Set<String> REPEATABLE = Set.of("connect", "checkHost", "checkIP", "socket");
    /** stunnel options this proxy knowingly does not implement, with the reason given to the user. */
    private static final Map<String, String> UNSUPPORTED = new HashMap<>();

    static {
        String runAsUser = "is not supported: start the proxy as the intended user instead";
        for (String o : List.of("setuid", "setgid", "chroot")) {
            UNSUPPORTED.put(o.toLowerCase(Locale.ROOT), o + " " + runAsUser);
        }
        UNSUPPORTED.put("compression", "compression is refused: TLS compression leaks plaintext (CRIME)");
        for (String o : List.of("exec", "execArgs", "pty", "transparent", "protocol", "protocolAuthentication",
                "protocolHost", "protocolUsername", "protocolPassword", "protocolDomain", "failover", "local", "retry",
                "sessionCacheSize", "sessionCacheTimeout", "sessionResume", "stack", "TIMEOUTocsp", "engine", "engineId",
                "engineNum", "engineCtrl", "engineDefault", "redirect", "requireCert", "curves", "options", "OCSPflag",
                "OCSPnonce", "OCSPrequire", "CRLfile", "CRLpath", "checkEmail", "include", "ident", "logId", "PSKidentity",
                "PSKsecrets", "ticketKeySecret", "ticketMacSecret", "securityLevel", "service", "namespace", "RNDfile",
                "RNDbytes", "RNDoverwrite", "EGD", "config", "client-certificate", "iconActive", "iconError", "iconIdle",
                "taskbar")) {
            UNSUPPORTED.putIfAbsent(o.toLowerCase(Locale.ROOT), "stunnel option '" + o + "' is not supported by this proxy");
        }
    }

    /**
     * How to read a configuration.
     *
     * @param provider the TLS provider every service uses
     * @param allowUnverifiedPeer permit {@code verify = 0} in client mode (tests only)
     */
    public record Options(TlsProvider provider, boolean allowUnverifiedPeer) {
        public static Options defaults() {
            return new Options(TlsProvider.defaultProvider(), false);
        }
    }

    private ProxyConfigParser() {}

    /** Reads a configuration file with default options. */
    public static ProxyConfig parse(Path file) throws IOException, ConfigException {
        return parse(file, Options.defaults());
    }

    public static ProxyConfig parse(Path file, Options options) throws IOException, ConfigException {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return parse(file.toString(), r, options);
        }
    }

    /** Reads configuration text; {@code source} names it in error messages. */
    public static ProxyConfig parse(String source, Reader text, Options options) throws IOException, ConfigException {
        List<Section> sections = new ArrayList<>();
        Section global = new Section(null, source, 0);
        Section current = global;
        BufferedReader br = text instanceof BufferedReader ? (BufferedReader) text : new BufferedReader(text);
        String raw;
        int lineNo = 0;
        while ((raw = br.readLine()) != null) {
            lineNo++;
            String line = raw.strip();
            if (lineNo == 1 && line.startsWith("\uFEFF")) {
                line = line.substring(1).strip();
            }
            if (line.isEmpty() || line.startsWith(";") || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("[")) {
                if (!line.endsWith("]")) {
                    throw new ConfigException(source, lineNo, "malformed section header '" + line + "' (expected [name])");
                }
                String name = line.substring(1, line.length() - 1).strip();
                if (!SECTION_NAME.matcher(name).matches()) {
                    throw new ConfigException(source, lineNo, "invalid service name '" + name
                            + "' (letters, digits, '.', '_', '-')");
                }
                for (Section s : sections) {
                    if (s.name.equals(name)) {
                        throw new ConfigException(source, lineNo, "duplicate service [" + name + "] (first on line "
                                + s.line + ")");
                    }
                }
                current = new Section(name, source, lineNo);
                sections.add(current);
                continue;
            }
            int eq = line.indexOf('=');
            if (eq < 0) {
                throw new ConfigException(source, lineNo, "expected 'option = value', got '" + line + "'");
            }
            String key = line.substring(0, eq).strip();
            String value = line.substring(eq + 1).strip();
            current.add(new Entry(canonicalKey(key, current == global, source, lineNo), value, source, lineNo));
        }
        return build(source, global, sections, options);
    }

    /**
     * Builds a one-service configuration from option/value pairs given on the command line, with the
     * same validation as a file. Keys are stunnel option names; {@code flagNames} maps each key to the
     * flag that supplied it, for error messages.
     */
    public static ProxyConfig fromSettings(String serviceName, List<Map.Entry<String, String>> globalSettings,
            List<Map.Entry<String, String>> serviceSettings, Map<String, String> flagNames, Options options)
            throws ConfigException {
        String source = "command line";
        Section global = new Section(null, source, 0);
        for (Map.Entry<String, String> e : globalSettings) {
            String where = source + " (" + flagNames.getOrDefault(e.getKey(), e.getKey()) + ")";
            global.add(new Entry(canonicalKey(e.getKey(), true, where, 0), e.getValue(), where, 0));
        }
        Section svc = new Section(serviceName, source, 0);
        for (Map.Entry<String, String> e : serviceSettings) {
            String where = source + " (" + flagNames.getOrDefault(e.getKey(), e.getKey()) + ")";
            svc.add(new Entry(canonicalKey(e.getKey(), false, where, 0), e.getValue(), where, 0));
        }
        return build(source, global, List.of(svc), options);
    }

    /** Convenience for tests and callers holding configuration text. */
    public static ProxyConfig parse(String source, String text, Options options) throws ConfigException {
        try {
            return parse(source, new StringReader(text), options);
        } catch (IOException e) {
            throw new AssertionError("StringReader cannot fail", e);
        }
    }

    private static String canonicalKey(String key, boolean inGlobal, String source, int line) throws ConfigException {
        String lower = key.toLowerCase(Locale.ROOT);
        if (key.isEmpty()) {
            throw new ConfigException(source, line, "missing option name before '='");
        }
        String g = GLOBAL.get(lower);
        if (g != null) {
            if (!inGlobal) {
                throw new ConfigException(source, line, "global option '" + g
                        + "' must appear before the first [service] section");
            }
            return g;
        }
        String s = SERVICE.get(lower);
        if (s != null) {
            return s;
        }
        String why = UNSUPPORTED.get(lower);
        if (why != null) {
            throw new ConfigException(source, line, why);
        }
        throw new ConfigException(source, line, "unknown option '" + key + "'");
    }

    private static ProxyConfig build(String source, Section global, List<Section> sections, Options options)
            throws ConfigException {
        Optional<Path> pid = Optional.empty();
        Optional<Path> output = Optional.empty();
        int debug = 5;
        Map<String, Entry> g = global.singles(GLOBAL.values());
        Entry e;
        if ((e = g.get("foreground")) != null) {
            String v = lower(e);
            if (v.equals("no")) {
                throw e.error("foreground = no is not supported: the proxy does not daemonize itself;"
                        + " run it under a supervisor (systemd, the Coffer watchdog)");
            }
            if (!v.equals("yes") && !v.equals("quiet")) {
                throw e.error("foreground must be yes or quiet, not '" + e.value + "'");
            }
        }
        if ((e = g.get("pid")) != null && !e.value.isEmpty()) {
            pid = Optional.of(path(e));
        }
        if ((e = g.get("output")) != null) {
            output = Optional.of(path(requireValue(e)));
        }
        if ((e = g.get("debug")) != null) {
            debug = debugLevel(e);
        }
        if ((e = g.get("fips")) != null && !yesNo(e)) {
            // fips = no is what efs-utils writes; nothing to do.
        } else if (e != null) {
            throw e.error("fips = yes is not supported: this proxy has no FIPS-validated TLS module");
        }
        if ((e = g.get("syslog")) != null && yesNo(e)) {
            throw e.error("syslog = yes is not supported: the proxy logs through SLF4J (and 'output')");
        }
        if (sections.isEmpty()) {
            throw new ConfigException(source, 0, "no [service] section: nothing to proxy");
        }
        List<ServiceConfig> services = new ArrayList<>();
        Map<String, ServiceConfig> byAccept = new HashMap<>();
        for (Section s : sections) {
            ServiceConfig svc = buildService(s, global, options);
            if (svc.accept().port() != 0) {
                ServiceConfig clash = byAccept.put(svc.accept().toString(), svc);
                if (clash != null) {
                    throw new ConfigException(s.source, s.line, "service [" + s.name + "] accepts on "
                            + svc.accept() + ", as [" + clash.name() + "] already does");
                }
            }
            services.add(svc);
        }
        return new ProxyConfig(source, pid, debug, output, services);
    }

    private static ServiceConfig buildService(Section s, Section global, Options options) throws ConfigException {
        // Global-section service options are defaults; the section's own lines override them.
        Map<String, Entry> single = new LinkedHashMap<>(global.singles(SERVICE.values()));
        single.putAll(s.singles(SERVICE.values()));
        Map<String, List<Entry>> repeated = new HashMap<>();
        for (String k : REPEATABLE) {
            List<Entry> own = s.repeated(k);
            repeated.put(k, own.isEmpty() ? global.repeated(k) : own);
        }
        Entry e;
        boolean client = (e = single.get("client")) != null && yesNo(e);

        Entry acceptEntry = single.get("accept");
        if (acceptEntry == null) {
            throw s.error("service [" + s.name + "] has no 'accept' (inetd mode is not supported)");
        }
        HostPort accept = hostPort(acceptEntry, "0.0.0.0");
        if (client && !accept.isLoopback()) {
            throw acceptEntry.error("client mode accepts plaintext, so 'accept' must be a loopback address"
                    + " (e.g. accept = 127.0.0.1:" + accept.port() + "), not " + accept);
        }
        List<HostPort> connect = new ArrayList<>();
        for (Entry c : repeated.get("connect")) {
            HostPort hp = hostPort(c, "127.0.0.1");
            if (hp.port() == 0) {
                throw c.error("connect port must be 1-65535");
            }
            connect.add(hp);
        }
        if (connect.isEmpty()) {
            throw s.error("service [" + s.name + "] has no 'connect'");
        }

        TlsPolicy.Builder b = TlsPolicy.builder().provider(options.provider())
                .allowUnverifiedPeer(options.allowUnverifiedPeer());
        Entry caFile = single.get("CAfile");
        Entry caPath = single.get("CApath");
        Entry cert = single.get("cert");
        Entry key = single.get("key");
        if (caFile != null) {
            b.trustedCertificates(existingFile(caFile));
        }
        if (caPath != null) {
            Path p = path(requireValue(caPath));
            if (!Files.isDirectory(p)) {
                throw caPath.error("CApath " + p + " is not a directory");
            }
            b.trustedCertificateDirectory(p);
        }
        if (cert != null) {
            b.certificateChain(existingFile(cert));
        }
        if (key != null) {
            if (cert == null) {
                throw key.error("'key' without 'cert'");
            }
            b.privateKey(existingFile(key));
        }
        if (!client && cert == null) {
            throw s.error("service [" + s.name + "] is in server mode and needs 'cert' (and 'key')");
        }

        // verify / verifyChain / verifyPeer, applied in file order like stunnel.
        List<Entry> verifyEntries = new ArrayList<>();
        for (String k : List.of("verify", "verifyChain", "verifyPeer")) {
            if (single.containsKey(k)) {
                verifyEntries.add(single.get(k));
            }
        }
        verifyEntries.sort((x, y) -> Integer.compare(x.order, y.order));
        PeerVerification level = null;
        Entry levelEntry = null;
        Boolean chain = null;
        Boolean peer = null;
        for (Entry v : verifyEntries) {
            levelEntry = v;
            if (v.key.equals("verify")) {
                int n;
                try {
                    n = Integer.parseInt(v.value);
                } catch (NumberFormatException ex) {
                    throw v.error("verify must be a level 0-4, not '" + v.value + "'");
                }
                try {
                    level = PeerVerification.fromStunnelLevel(n);
                } catch (IllegalArgumentException ex) {
                    throw v.error(ex.getMessage());
                }
                chain = level.verifiesChain();
                peer = level.pinsPeer();
            } else if (v.key.equals("verifyChain")) {
                chain = yesNo(v);
                level = PeerVerification.fromSwitches(chain, peer != null && peer);
            } else {
                peer = yesNo(v);
                level = PeerVerification.fromSwitches(chain != null && chain, peer);
            }
        }
        if (client) {
            if (level == null) {
                level = PeerVerification.CHAIN;
                if (caFile == null && caPath == null) {
                    throw s.error("service [" + s.name + "] is in client mode but names no CAfile/CApath to verify"
                            + " the server with (the server is always verified; verify = 2 is the default)");
                }
            }
            if (level == PeerVerification.NONE && !options.allowUnverifiedPeer()) {
                throw levelEntry.error("verify = 0 in client mode would accept any server certificate; refused"
                        + " (it is allowed only with the proxy command's --allow-unverified, for tests)");
            }
            b.peerVerification(level == PeerVerification.IF_PRESENT ? PeerVerification.CHAIN : level);
        } else if (level == null) {
            b.clientAuthentication(ClientAuthentication.NONE).peerVerification(PeerVerification.NONE);
        } else {
            b.peerVerification(level).clientAuthentication(level.requiresCertificate()
                    ? ClientAuthentication.REQUIRED : ClientAuthentication.OPTIONAL);
        }
        if (level != null && (level.verifiesChain() || level.pinsPeer()) && caFile == null && caPath == null) {
            throw levelEntry.error(levelEntry.key + " = " + levelEntry.value + " needs CAfile or CApath");
        }

        for (Entry h : repeated.get("checkHost")) {
            try {
                b.expectedHostName(requireValue(h).value);
            } catch (IllegalArgumentException ex) {
                throw h.error(ex.getMessage());
            }
        }
        for (Entry ip : repeated.get("checkIP")) {
            try {
                b.expectedIpAddresses(List.of(requireValue(ip).value));
            } catch (IllegalArgumentException ex) {
                throw ip.error("checkIP: " + ex.getMessage());
            }
        }

        protocols(single, b);
        cipherSuites(single, b);

        Duration idle = Duration.ofSeconds(43200);
        Duration close = Duration.ofSeconds(60);
        Duration connectTimeout = Duration.ofSeconds(10);
        if ((e = single.get("TIMEOUTidle")) != null) {
            idle = seconds(e);
        }
        if ((e = single.get("TIMEOUTclose")) != null) {
            close = seconds(e);
        }
        if ((e = single.get("TIMEOUTconnect")) != null) {
            connectTimeout = seconds(e);
            if (connectTimeout.isZero()) {
                throw e.error("TIMEOUTconnect must be at least 1 second");
            }
        }
        if ((e = single.get("TIMEOUTbusy")) != null) {
            Duration busy = seconds(e);
            if (busy.isZero()) {
                throw e.error("TIMEOUTbusy must be at least 1 second");
            }
            b.handshakeTimeout(busy);
        }
        boolean delay = (e = single.get("delay")) != null && yesNo(e);
        if ((e = single.get("renegotiation")) != null && yesNo(e)) {
            throw e.error("renegotiation = yes is refused: TLS renegotiation is a known attack surface"
                    + " (TLSv1.3 removed it); only 'no' is accepted");
        }
        if ((e = single.get("libwrap")) != null && yesNo(e)) {
            throw e.error("libwrap = yes is not supported (no TCP wrappers); use a firewall, or libwrap = no");
        }
        if ((e = single.get("OCSPaia")) != null && yesNo(e)) {
            throw e.error("OCSPaia = yes is not supported: this proxy does not implement OCSP checks;"
                    + " remove the option or set it to no");
        }
        if ((e = single.get("OCSP")) != null) {
            throw e.error("OCSP is not supported: this proxy does not implement OCSP checks");
        }
        if ((e = single.get("sni")) != null) {
            if (!client) {
                throw e.error("sni in server mode (virtual services) is not supported");
            }
            try {
                b.serverNameIndication(requireValue(e).value);
            } catch (IllegalArgumentException ex) {
                throw e.error(ex.getMessage());
            }
        }
        List<SocketSetting> sockets = new ArrayList<>();
        for (Entry so : repeated.get("socket")) {
            sockets.add(socketSetting(so, accept));
        }
        TlsPolicy policy;
        try {
            policy = b.build();
        } catch (IllegalArgumentException ex) {
            throw s.error("service [" + s.name + "]: " + ex.getMessage());
        }
        return new ServiceConfig(s.name, client, accept, connect, policy, idle, close, connectTimeout, delay,
                sockets);
    }

    private static void protocols(Map<String, Entry> single, TlsPolicy.Builder b) throws ConfigException {
        Entry version = single.get("sslVersion");
        Entry min = single.get("sslVersionMin");
        Entry max = single.get("sslVersionMax");
        if (version != null && (min != null || max != null)) {
            throw version.error("sslVersion cannot be combined with sslVersionMin/sslVersionMax");
        }
        if (version != null) {
            if (!lower(version).equals("all")) {
                b.protocol(protocol(version));
            }
            return;
        }
        if (min != null && !lower(min).equals("all")) {
            b.minProtocol(protocol(min));
        }
        if (max != null && !lower(max).equals("all")) {
            b.maxProtocol(protocol(max));
        }
        if (min != null && max != null && !lower(min).equals("all") && !lower(max).equals("all")
                && protocol(min).compareTo(protocol(max)) > 0) {
            throw max.error("sslVersionMax " + max.value + " is below sslVersionMin " + min.value);
        }
    }

    private static TlsProtocol protocol(Entry e) throws ConfigException {
        try {
            return TlsProtocol.parse(requireValue(e).value);
        } catch (IllegalArgumentException ex) {
            throw e.error(e.key + ": " + ex.getMessage());
        }
    }

    private static void cipherSuites(Map<String, Entry> single, TlsPolicy.Builder b) throws ConfigException {
        Entry ciphers = single.get("ciphers");
        Entry suites13 = single.get("ciphersuites");
        if (ciphers == null && suites13 == null) {
            return;
        }
        List<String> tls13 = new ArrayList<>(CipherSuites.TLS13);
        List<String> tls12 = new ArrayList<>(CipherSuites.TLS12);
        if (suites13 != null) {
            tls13 = suiteList(suites13, true);
        }
        if (ciphers != null) {
            tls12 = suiteList(ciphers, false);
        }
        List<String> all = new ArrayList<>(tls13);
        all.addAll(tls12);
        try {
            b.cipherSuites(all);
        } catch (IllegalArgumentException ex) {
            throw (ciphers != null ? ciphers : suites13).error(ex.getMessage());
        }
    }

    private static List<String> suiteList(Entry e, boolean tls13) throws ConfigException {
        List<String> out = new ArrayList<>();
        for (String part : requireValue(e).value.split("[:,\\s]+")) {
            if (part.isEmpty()) {
                continue;
            }
            String iana;
            try {
                iana = CipherSuites.normalize(part);
            } catch (IllegalArgumentException ex) {
                throw e.error(ex.getMessage());
            }
            if (tls13 != CipherSuites.isTls13(iana)) {
                throw e.error(tls13
                        ? "'" + part + "' is a TLSv1.2 suite; ciphersuites takes TLSv1.3 suites (TLSv1.2 ones go in ciphers)"
                        : "'" + part + "' is a TLSv1.3 suite; ciphers takes TLSv1.2 suites (TLSv1.3 ones go in ciphersuites)");
            }
            out.add(iana);
        }
        if (out.isEmpty()) {
            throw e.error(e.key + " names no suite");
        }
        return out;
    }

    private static SocketSetting socketSetting(Entry e, HostPort accept) throws ConfigException {
        String v = requireValue(e).value;
        int colon = v.indexOf(':');
        int eq = v.indexOf('=');
        if (colon != 1 || eq < 0) {
            throw e.error("socket must look like a|l|r:OPTION=VALUE, not '" + v + "'");
        }
        char target = Character.toLowerCase(v.charAt(0));
        String option = v.substring(2, eq).strip().toUpperCase(Locale.ROOT);
        String value = v.substring(eq + 1).strip();
        if ("alr".indexOf(target) < 0) {
            throw e.error("socket target must be a (accepted), l (listening) or r (remote), not '" + v.charAt(0) + "'");
        }
        switch (option) {
            case "SO_REUSEADDR":
                if (target != 'l') {
                    throw e.error("SO_REUSEADDR applies to the listening socket (l:)");
                }
                socketBoolean(e, value);
                break;
            case "SO_KEEPALIVE":
            case "TCP_NODELAY":
                if (target == 'l') {
                    throw e.error(option + " applies to connections (a: or r:)");
                }
                socketBoolean(e, value);
                break;
            case "SO_RCVBUF":
            case "SO_SNDBUF":
                try {
                    if (Integer.parseInt(value) <= 0) {
                        throw new NumberFormatException();
                    }
                } catch (NumberFormatException ex) {
                    throw e.error(option + " needs a positive byte count, not '" + value + "'");
                }
                break;
            case "SO_BINDTODEVICE":
                // efs-utils binds the accepting side to lo; a loopback accept address already confines it.
                if (target == 'r' || !value.equals("lo") || !accept.isLoopback()) {
                    throw e.error("SO_BINDTODEVICE is supported only as a:/l:SO_BINDTODEVICE=lo with a loopback accept");
                }
                break;
            default:
                throw e.error("unsupported socket option '" + option
                        + "' (supported: SO_REUSEADDR, SO_KEEPALIVE, TCP_NODELAY, SO_RCVBUF, SO_SNDBUF, SO_BINDTODEVICE=lo)");
        }
        return new SocketSetting(target, option, value);
    }

    private static void socketBoolean(Entry e, String value) throws ConfigException {
        String v = value.toLowerCase(Locale.ROOT);
        if (!List.of("yes", "no", "1", "0").contains(v)) {
            throw e.error("socket option value must be yes or no, not '" + value + "'");
        }
    }

    private static int debugLevel(Entry e) throws ConfigException {
        String v = lower(requireValue(e));
        int dot = v.indexOf('.');
        if (dot >= 0) {
            v = v.substring(dot + 1);
        }
        List<String> names = List.of("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug");
        int idx = names.indexOf(v);
        if (idx >= 0) {
            return idx;
        }
        try {
            int n = Integer.parseInt(v);
            if (n >= 0 && n <= 7) {
                return n;
            }
        } catch (NumberFormatException ex) {
            // fall through to the error
        }
        throw e.error("debug must be a level 0-7 or a syslog level name (" + String.join(", ", names) + "), not '"
                + e.value + "'");
    }

    private static Duration seconds(Entry e) throws ConfigException {
        try {
            long n = Long.parseLong(requireValue(e).value);
            if (n < 0 || n > MAX_TIMEOUT_SECONDS) {
                throw new NumberFormatException();
            }
            return Duration.ofSeconds(n);
        } catch (NumberFormatException ex) {
            throw e.error(e.key + " must be a number of seconds (0-" + MAX_TIMEOUT_SECONDS + "), not '" + e.value + "'");
        }
    }

    private static HostPort hostPort(Entry e, String defaultHost) throws ConfigException {
        try {
            return HostPort.parse(requireValue(e).value, defaultHost);
        } catch (IllegalArgumentException ex) {
            throw e.error(e.key + ": " + ex.getMessage());
        }
    }

    private static Path existingFile(Entry e) throws ConfigException {
        Path p = path(requireValue(e));
        if (!Files.isRegularFile(p)) {
            throw e.error(e.key + " " + p + ": no such file");
        }
        if (!Files.isReadable(p)) {
            throw e.error(e.key + " " + p + ": not readable");
        }
        return p;
    }

    private static Path path(Entry e) throws ConfigException {
        try {
            return Paths.get(e.value);
        } catch (RuntimeException ex) {
            throw e.error("invalid path '" + e.value + "'");
        }
    }

    private static boolean yesNo(Entry e) throws ConfigException {
        String v = lower(e);
        if (v.equals("yes")) {
            return true;
        }
        if (v.equals("no")) {
            return false;
        }
        throw e.error(e.key + " must be yes or no, not '" + e.value + "'");
    }

    private static Entry requireValue(Entry e) throws ConfigException {
        if (e.value.isEmpty()) {
            throw e.error(e.key + " needs a value");
        }
        return e;
    }

    private static String lower(Entry e) {
        return e.value.toLowerCase(Locale.ROOT);
    }

    private static Map<String, String> canonical(String... names) {
        Map<String, String> m = new HashMap<>();
        for (String n : names) {
            m.put(n.toLowerCase(Locale.ROOT), n);
        }
        return m;
    }

    /** One {@code key = value} line. */
    private static final class Entry {
        private static int counter;
        final String key;
        final String value;
        final String source;
        final int line;
        final int order;

        Entry(String key, String value, String source, int line) {
            this.key = key;
            this.value = value;
            this.source = source;
            this.line = line;
            synchronized (Entry.class) {
                this.order = counter++;
            }
        }

        ConfigException error(String message) {
            return new ConfigException(source, line, message);
        }
    }

    /** The lines of the global part or of one service. */
    private static final class Section {
        final String name;
        final String source;
        final int line;
        final List<Entry> entries = new ArrayList<>();

        Section(String name, String source, int line) {
            this.name = name;
            this.source = source;
            this.line = line;
        }

        void add(Entry e) throws ConfigException {
            if (!REPEATABLE.contains(e.key)) {
                for (Entry prior : entries) {
                    if (prior.key.equals(e.key)) {
                        throw e.error("duplicate option '" + e.key + "'"
                                + (prior.line > 0 ? " (first set on line " + prior.line + ")" : ""));
                    }
                }
            }
            entries.add(e);
        }

        Map<String, Entry> singles(java.util.Collection<String> keys) {
            Map<String, Entry> m = new LinkedHashMap<>();
            for (Entry e : entries) {
                if (keys.contains(e.key) && !REPEATABLE.contains(e.key)) {
                    m.put(e.key, e);
                }
            }
            return m;
        }

        List<Entry> repeated(String key) {
            List<Entry> out = new ArrayList<>();
            for (Entry e : entries) {
                if (e.key.equals(key)) {
                    out.add(e);
                }
            }
            return out;
        }

        ConfigException error(String message) {
            return new ConfigException(source, line, message);
        }
    }
}
