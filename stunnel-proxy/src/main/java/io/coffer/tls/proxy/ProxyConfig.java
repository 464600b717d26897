package io.coffer.tls.proxy;

import io.coffer.tls.TlsProvider;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A validated proxy configuration: stunnel's global options and one or more services.
 *
 * @param source where it was read from (file name or {@code command line})
 * @param pidFile stunnel's {@code pid}: where to write the process id
 * @param debugLevel stunnel's {@code debug} as a syslog level, 0 (emerg) to 7 (debug); default 5 (notice)
 * @param outputFile stunnel's {@code output}: a file that gets the proxy's event log, stunnel-style
 * @param services the services, in file order
 */
public record ProxyConfig(
        String source,
        Optional<Path> pidFile,
        int debugLevel,
        Optional<Path> outputFile,
        List<ServiceConfig> services) {

    public ProxyConfig {
        services = List.copyOf(services);
    }

    /** The same configuration with every service's TLS on {@code provider}. */
    public ProxyConfig withProvider(TlsProvider provider) {
        List<ServiceConfig> out = new ArrayList<>();
        for (ServiceConfig s : services) {
            out.add(s.withTlsPolicy(s.tlsPolicy().toBuilder().provider(provider).build()));
        }
        return new ProxyConfig(source, pidFile, debugLevel, outputFile, out);
    }
}
