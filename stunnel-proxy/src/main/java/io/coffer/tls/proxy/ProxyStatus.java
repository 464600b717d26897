package io.coffer.tls.proxy;

import java.time.Instant;
import java.util.List;

/**
 * A snapshot of a running proxy, as written to the status file.
 *
 * @param pid this process's id
 * @param startedAt when the proxy started
 * @param updatedAt when this snapshot was taken
 * @param transport {@code epoll} or {@code nio}
 * @param services per-service counters, in configuration order
 */
public record ProxyStatus(long pid, Instant startedAt, Instant updatedAt, String transport, List<ServiceStatus> services) {

    public ProxyStatus {
        services = List.copyOf(services);
    }

    /** The service of that name. */
    public ServiceStatus service(String name) {
        for (ServiceStatus s : services) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("no service " + name);
    }

    /** One JSON object, one line, fields as documented in {@code docs/proxy.md}. */
    public String toJson() {
        StringBuilder sb = new StringBuilder(512);
        sb.append('{');
        Json.field(sb, "pid", pid).append(',');
        Json.field(sb, "startedAt", startedAt.toString()).append(',');
        Json.field(sb, "updatedAt", updatedAt.toString()).append(',');
        Json.field(sb, "transport", transport).append(',');
        sb.append("\"services\":[");
        for (int i = 0; i < services.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            services.get(i).appendJson(sb);
        }
        sb.append("]}");
        return sb.toString();
    }
}
