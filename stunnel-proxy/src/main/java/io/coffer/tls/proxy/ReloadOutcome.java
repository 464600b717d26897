package io.coffer.tls.proxy;

import java.util.List;

/**
 * What a reload of certificates and keys did.
 *
 * @param reloaded services now using freshly read files
 * @param failures one message per service that kept its previous certificates, naming the service and the fault
 */
public record ReloadOutcome(List<String> reloaded, List<String> failures) {
    public ReloadOutcome {
        reloaded = List.copyOf(reloaded);
        failures = List.copyOf(failures);
    }

    public boolean succeeded() {
        return failures.isEmpty();
    }
}
