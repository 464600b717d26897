package io.coffer.tls;

import java.nio.file.Path;
import java.security.cert.X509Certificate;

/**
 * A certificate written by {@link CertificateAuthority#issue}.
 *
 * @param certificateFile PEM file with the leaf (followed by the CA certificate if a chain was asked for)
 * @param keyFile PKCS#8 PEM file with the private key, mode 0600
 * @param certificate the leaf certificate
 */
public record IssuedCertificate(Path certificateFile, Path keyFile, X509Certificate certificate) {}
