package io.coffer.tls;

/** What a leaf certificate is for; decides its extended key usage. */
public enum CertificateKind {
    /** TLS server (EKU serverAuth). */
    SERVER,
    /** TLS client, for mutual TLS (EKU clientAuth). */
    CLIENT
}
