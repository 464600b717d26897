package io.coffer.tls;

import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What to put in a leaf certificate. The name is the subject CN, the file name stem and (as a DNS
 * name, or an IP SAN when it is an IP literal) the first subject alternative name.
 */
public final class CertificateRequest {
    private static final Pattern FILE_SAFE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,252}");
    private static final Pattern DNS_NAME = Pattern.compile(
            "(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\.?");

    private final String name;
    private final CertificateKind kind;
    private final List<String> dnsNames;
    private final List<InetAddress> ipAddresses;
    private final Instant notBefore;
    private final Instant notAfter;
    private final boolean includeChain;
    private final boolean overwrite;

    private CertificateRequest(Builder b) {
        this.name = b.name;
        this.kind = b.kind;
        this.dnsNames = List.copyOf(b.dnsNames);
        this.ipAddresses = List.copyOf(b.ipAddresses);
        this.notBefore = b.notBefore;
        this.notAfter = b.notAfter;
        this.includeChain = b.includeChain;
        this.overwrite = b.overwrite;
    }

    public static Builder builder(String name, CertificateKind kind) {
        return new Builder(name, kind);
    }

    public String name() {
        return name;
    }

    public CertificateKind kind() {
        return kind;
    }

    /** All DNS SANs, the name first when it is not an IP literal. */
    public List<String> dnsNames() {
        return dnsNames;
    }

    /** All IP SANs, the name first when it is an IP literal. */
    public List<InetAddress> ipAddresses() {
        return ipAddresses;
    }

    public Instant notBefore() {
        return notBefore;
    }

    public Instant notAfter() {
        return notAfter;
    }

    public boolean includeChain() {
        return includeChain;
    }

    public boolean overwrite() {
        return overwrite;
    }

    public static final class Builder {
        private final String name;
        private final CertificateKind kind;
        private final List<String> dnsNames = new ArrayList<>();
        private final List<InetAddress> ipAddresses = new ArrayList<>();
        private Instant notBefore;
        private Instant notAfter;
        private Duration lifetime = CertificateAuthority.DEFAULT_LEAF_LIFETIME;
        private boolean includeChain;
        private boolean overwrite;

        private Builder(String name, CertificateKind kind) {
            this.name = Objects.requireNonNull(name, "name");
            this.kind = Objects.requireNonNull(kind, "kind");
            if (!FILE_SAFE_NAME.matcher(name).matches() || name.contains("..")) {
                throw new IllegalArgumentException("certificate name '" + name
                        + "' must be letters, digits, '.', '_' or '-' (it becomes a file name)");
            }
            if (HostnameMatcher.isIpLiteral(name)) {
                ipAddresses.add(HostnameMatcher.parseIpLiteral(name));
            } else {
                dnsName(name);
            }
        }

        public Builder dnsName(String dns) {
            if (!DNS_NAME.matcher(dns).matches() || HostnameMatcher.isIpLiteral(dns)) {
                throw new IllegalArgumentException("not a DNS name: '" + dns + "'");
            }
            if (!dnsNames.contains(dns)) {
                dnsNames.add(dns);
            }
            return this;
        }

        public Builder dnsNames(List<String> names) {
            names.forEach(this::dnsName);
            return this;
        }

        public Builder ipAddress(InetAddress ip) {
            if (!ipAddresses.contains(ip)) {
                ipAddresses.add(ip);
            }
            return this;
        }

        /** Adds an IP given as a literal (never resolved through DNS). */
        public Builder ipAddress(String literal) {
            return ipAddress(HostnameMatcher.parseIpLiteral(literal));
        }

        /** Adds a SAN, as an IP SAN when {@code san} is an IP literal, else as a DNS SAN. */
        public Builder subjectAltName(String san) {
            return HostnameMatcher.isIpLiteral(san) ? ipAddress(san) : dnsName(san);
        }

        /** Validity from now (less a minute for clock skew) for {@code lifetime}. */
        public Builder lifetime(Duration lifetime) {
            if (lifetime.isNegative() || lifetime.isZero()) {
                throw new IllegalArgumentException("lifetime must be positive");
            }
            this.lifetime = lifetime;
            this.notBefore = null;
            this.notAfter = null;
            return this;
        }

        /** An explicit validity window (tests use one in the past to get an expired certificate). */
        public Builder validity(Instant notBefore, Instant notAfter) {
            if (!notAfter.isAfter(notBefore)) {
                throw new IllegalArgumentException("notAfter must be after notBefore");
            }
            this.notBefore = notBefore;
            this.notAfter = notAfter;
            return this;
        }

        /** Also write the CA certificate after the leaf in the certificate file. */
        public Builder includeChain(boolean include) {
            this.includeChain = include;
            return this;
        }

        /** Replace existing files of the same name. */
        public Builder overwrite(boolean overwrite) {
            this.overwrite = overwrite;
            return this;
        }

        public CertificateRequest build() {
            if (notBefore == null) {
                Instant now = Instant.now();
                notBefore = now.minus(Duration.ofMinutes(1));
                notAfter = now.plus(lifetime);
            }
            return new CertificateRequest(this);
        }
    }
}
