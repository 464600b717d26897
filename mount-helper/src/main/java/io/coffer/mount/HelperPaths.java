package io.coffer.mount;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where mount.coffer and the watchdog keep things. The defaults are the system's; the
 * environment variables {@code COFFER_CONFIG}, {@code COFFER_STATE_DIR} and {@code COFFER_LOG_DIR}
 * move them (tests use private directories, so they never touch the real /etc and /var/run).
 * Every process the helper starts gets the same variables, so it agrees on the paths.
 */
public record HelperPaths(Path configFile, Path stateDir, Path logDir) {
    public static final Path DEFAULT_CONFIG = Path.of("/etc/coffer/coffer.conf");
    public static final Path DEFAULT_STATE_DIR = Path.of("/var/run/coffer");
    public static final Path DEFAULT_LOG_DIR = Path.of("/var/log/coffer");

    public static HelperPaths fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    static HelperPaths fromEnvironment(Map<String, String> env) {
        return new HelperPaths(path(env, "COFFER_CONFIG", DEFAULT_CONFIG), path(env, "COFFER_STATE_DIR", DEFAULT_STATE_DIR),
                path(env, "COFFER_LOG_DIR", DEFAULT_LOG_DIR));
    }

    private static Path path(Map<String, String> env, String name, Path dflt) {
        String v = env.get(name);
        return v == null || v.isBlank() ? dflt : Path.of(v).toAbsolutePath().normalize();
    }

    /** The variables that give a child process these paths. */
    public Map<String, String> environment() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("COFFER_CONFIG", configFile.toString());
        m.put("COFFER_STATE_DIR", stateDir.toString());
        m.put("COFFER_LOG_DIR", logDir.toString());
        return m;
    }

    public boolean isDefault() {
        return configFile.equals(DEFAULT_CONFIG) && stateDir.equals(DEFAULT_STATE_DIR) && logDir.equals(DEFAULT_LOG_DIR);
    }
}
