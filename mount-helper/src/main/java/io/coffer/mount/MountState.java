package io.coffer.mount;

import com.fasterxml.jackson.annotation.JsonAnyGetter;
import com.fasterxml.jackson.annotation.JsonAnySetter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The state file of one mount, /var/run/coffer/NAME.json, as JSON with snake_case names. A plain
 * class rather than a record: it is a document that the helper creates and the watchdog edits
 * field by field (restarts, health), and readers must ignore fields a newer version adds.
 */
public final class MountState {
    public static final String MOUNTING = "mounting";
    public static final String MOUNTED = "mounted";

    public int version = 1;
    /** {@link #MOUNTING} while mount.coffer works on it, {@link #MOUNTED} once the mount is visible. */
    public String phase;
    public String fsId;
    public String path;
    public String source;
    public String mountpoint;
    /** host:port that the tunnel (or the daemon, without one) connects to. */
    public String server;
    public String addr;
    public int port;
    public boolean tls;
    /** coffer, stunnel or none. */
    public String proxy;
    /** The tunnel's loopback port; null without a tunnel. */
    public Integer tlsport;
    /** The name the server's certificate must carry (checkHost or checkIP). */
    public String checkHost;
    public String options;
    public String daemonOptions;
    public Long helperPid;
    public Long helperStartTicks;
    public Long proxyPid;
    public Long proxyStartTicks;
    public String proxyStartedAt;
    public int proxyRestarts;
    public String proxyLastRestart;
    public String proxyLastRestartReason;
    public Long daemonPid;
    public Long daemonStartTicks;
    /** The command that starts the proxy. */
    public List<String> command;
    /**
     * What {@link #command} ran in the end, from /proc/PID/cmdline of the first proxy: for coffer
     * proxy, the JVM with its flags, without the launcher script and its JVM probe. The watchdog
     * restarts with it, which saves a few hundred milliseconds of a restart.
     */
    public List<String> proxyExec;
    /**
     * The environment variables that the launcher set for that JVM (those that differ from
     * mount.coffer's own environment, such as MALLOC_ARENA_MAX), given again with {@link #proxyExec}.
     */
    public Map<String, String> proxyExecEnv;
    /** The proxy's configuration file. */
    public String config;
    public String pidFile;
    public String readyFile;
    public String statusFile;
    public String proxyLog;
    public String daemonLog;
    /** The client id of the watchdog's health checks, so they reuse one server session. */
    public String healthClientId;
    public String mountTime;
    /** major:minor of the mount, from mountinfo. */
    public String device;
    public Health health;
    /**
     * Fields this version does not know, kept so that rewriting a file written by a newer
     * mount.coffer (a long-running watchdog updating health) does not drop them.
     */
    private final Map<String, Object> other = new LinkedHashMap<>();

    @JsonAnySetter
    void set(String name, Object value) {
        other.put(name, value);
    }

    @JsonAnyGetter
    Map<String, Object> other() {
        return other;
    }

    /** The last health check of the tunnel, written by the watchdog. */
    public static final class Health {
        /** ok, unreachable, hung, restarting, down. */
        public String status;
        public String detail;
        public String checkedAt;
        public Long latencyMs;
        public int consecutiveFailures;
        public String lastOkAt;
    }

    public ProcessRef proxyProcess() {
        return proxyPid == null ? null : new ProcessRef(proxyPid, proxyStartTicks == null ? -1 : proxyStartTicks);
    }

    public ProcessRef daemonProcess() {
        return daemonPid == null ? null : new ProcessRef(daemonPid, daemonStartTicks == null ? -1 : daemonStartTicks);
    }

    public ProcessRef helperProcess() {
        return helperPid == null ? null : new ProcessRef(helperPid, helperStartTicks == null ? -1 : helperStartTicks);
    }

    public boolean hasTunnel() {
        return tlsport != null && command != null;
    }

    public Path mountpointPath() {
        return Path.of(mountpoint);
    }
}
