package io.coffer.tls.cli;

import io.coffer.tls.CertificateAuthority;
import io.coffer.tls.CertificateKind;
import io.coffer.tls.CertificateRequest;
import io.coffer.tls.IssuedCertificate;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code coffer certs}: a small CA for Coffer's TLS (ECDSA P-256). */
@Command(name = "certs", mixinStandardHelpOptions = true,
        description = "Create a certificate authority and issue server and client certificates.",
        subcommands = {CertsCommand.InitCa.class, CertsCommand.Issue.class})
public final class CertsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    /** Runs the command stand-alone. */
    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new CertsCommand());
        cl.setParameterExceptionHandler(CliErrors.oneLineParameterErrors());
        System.exit(cl.execute(args));
    }

    @Override
    public Integer call() {
        return CliErrors.fail(spec, CliErrors.USAGE, "missing subcommand: init-ca or issue (see --help)");
    }

    /** {@code coffer certs init-ca --dir DIR}. */
    @Command(name = "init-ca", mixinStandardHelpOptions = true,
            description = "Create DIR/ca.pem and DIR/ca.key (mode 0600); refuses to replace an existing CA.")
    public static final class InitCa implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--dir", required = true, paramLabel = "DIR", description = "directory for the CA files")
        Path dir;

        @Option(names = "--name", paramLabel = "CN", defaultValue = "Coffer CA", description = "CA common name")
        String name;

        @Option(names = "--days", paramLabel = "N", defaultValue = "" + CertificateAuthority.CA_LIFETIME_DAYS,
                description = "validity in days (default: ${DEFAULT-VALUE})")
        int days;

        @Override
        public Integer call() {
            if (days <= 0) {
                return CliErrors.fail(spec, CliErrors.USAGE, "--days must be positive");
            }
            try {
                CertificateAuthority ca = CertificateAuthority.init(dir, name, Duration.ofDays(days));
                spec.commandLine().getOut().println("created CA " + ca.certificateFile() + " (key "
                        + dir.resolve(CertificateAuthority.CA_KEY_FILE) + "), valid until "
                        + ca.certificate().getNotAfter().toInstant());
                return 0;
            } catch (FileAlreadyExistsException e) {
                return CliErrors.fail(spec, CliErrors.FAILURE, e.getFile() + ": " + e.getReason());
            } catch (IOException | GeneralSecurityException | RuntimeException e) {
                return CliErrors.fail(spec, CliErrors.FAILURE, "cannot create CA in " + dir + ": " + e.getMessage());
            }
        }
    }

    /** {@code coffer certs issue --dir DIR (--server NAME | --client NAME) [--ip IP]... [--dns NAME]... [--days N]}. */
    @Command(name = "issue", mixinStandardHelpOptions = true,
            description = "Issue DIR/NAME.pem and DIR/NAME.key signed by the CA in DIR.")
    public static final class Issue implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--dir", required = true, paramLabel = "DIR", description = "directory holding ca.pem and ca.key")
        Path dir;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Kind kind;

        static final class Kind {
            @Option(names = "--server", paramLabel = "NAME", required = true,
                    description = "server certificate (EKU serverAuth) for NAME, e.g. a host name or fs-1a2b3c4d")
            String server;

            @Option(names = "--client", paramLabel = "NAME", required = true,
                    description = "client certificate (EKU clientAuth) for NAME")
            String client;
        }

        @Option(names = "--ip", paramLabel = "IP", description = "extra IP address SAN (repeatable)")
        List<String> ips = new ArrayList<>();

        @Option(names = "--dns", paramLabel = "NAME", description = "extra DNS name SAN (repeatable)")
        List<String> dns = new ArrayList<>();

        @Option(names = "--days", paramLabel = "N", defaultValue = "" + CertificateAuthority.LEAF_LIFETIME_DAYS,
                description = "validity in days (default: ${DEFAULT-VALUE})")
        int days;

        @Option(names = "--chain", description = "append the CA certificate to NAME.pem")
        boolean chain;

        @Option(names = "--force", description = "replace an existing NAME.pem/NAME.key")
        boolean force;

        @Override
        public Integer call() {
            if (days <= 0) {
                return CliErrors.fail(spec, CliErrors.USAGE, "--days must be positive");
            }
            String name = kind.server != null ? kind.server : kind.client;
            CertificateKind k = kind.server != null ? CertificateKind.SERVER : CertificateKind.CLIENT;
            try {
                CertificateRequest.Builder r = CertificateRequest.builder(name, k)
                        .lifetime(Duration.ofDays(days)).includeChain(chain).overwrite(force);
                dns.forEach(r::dnsName);
                ips.forEach(r::ipAddress);
                CertificateRequest req = r.build();
                CertificateAuthority ca = CertificateAuthority.load(dir);
                IssuedCertificate issued = ca.issue(req);
                List<String> sans = new ArrayList<>();
                req.dnsNames().forEach(d -> sans.add("DNS:" + d));
                req.ipAddresses().forEach(ip -> sans.add("IP:" + ip.getHostAddress()));
                spec.commandLine().getOut().println("issued " + k.name().toLowerCase() + " certificate "
                        + issued.certificateFile() + " (key " + issued.keyFile() + ") for " + String.join(", ", sans)
                        + ", valid until " + issued.certificate().getNotAfter().toInstant());
                return 0;
            } catch (IllegalArgumentException e) {
                return CliErrors.fail(spec, CliErrors.USAGE, e.getMessage());
            } catch (FileAlreadyExistsException e) {
                return CliErrors.fail(spec, CliErrors.FAILURE, e.getFile() + ": " + e.getReason() + " (use --force)");
            } catch (IOException | GeneralSecurityException e) {
                return CliErrors.fail(spec, CliErrors.FAILURE, e.getMessage());
            }
        }
    }
}
