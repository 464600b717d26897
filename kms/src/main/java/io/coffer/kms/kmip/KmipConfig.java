package io.coffer.kms.kmip;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How to reach a KMIP server: host and port, and the PEM files for mutual TLS. Immutable; build
 * with {@link #builder()}.
 *
 * <p>The server's certificate must chain to {@code caFile} and name {@code host} (DNS name or
 * IP address in its subject alternative names). The client presents {@code certFile} (its chain)
 * and {@code keyFile} (an unencrypted PKCS#8 or traditional PEM private key).
 */
public final class KmipConfig {
  private final String host;
  private final int port;
  private final Path caFile;
  private final Path certFile;
  private final Path keyFile;
  private final Duration connectTimeout;
  private final Duration readTimeout;
  private final int maxAttempts;
  private final Duration initialBackoff;
  private final int maxConnections;

  private KmipConfig(Builder b) {
    host = b.host;
    port = b.port;
    caFile = b.caFile;
    certFile = b.certFile;
    keyFile = b.keyFile;
    connectTimeout = b.connectTimeout;
    readTimeout = b.readTimeout;
    maxAttempts = b.maxAttempts;
    initialBackoff = b.initialBackoff;
    maxConnections = b.maxConnections;
  }

  public static Builder builder() {
    return new Builder();
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  public Path caFile() {
    return caFile;
  }

  public Path certFile() {
    return certFile;
  }

  public Path keyFile() {
    return keyFile;
  }

  public Duration connectTimeout() {
    return connectTimeout;
  }

  public Duration readTimeout() {
    return readTimeout;
  }

  /** Tries per request, the first included, before {@code KmsUnavailableException}. */
  public int maxAttempts() {
    return maxAttempts;
  }

  /** Wait before the second try; doubled (with jitter) for each later one. */
  public Duration initialBackoff() {
    return initialBackoff;
  }

  public int maxConnections() {
    return maxConnections;
  }

  @Override
  public String toString() {
    return "KmipConfig[" + host + ":" + port + ", ca=" + caFile + ", cert=" + certFile + ", key=" + keyFile + "]";
  }

  /** Validating builder; host, CA, certificate and key are required. */
  public static final class Builder {
    private String host;
    private int port = 5696;
    private Path caFile;
    private Path certFile;
    private Path keyFile;
    private Duration connectTimeout = Duration.ofSeconds(5);
    private Duration readTimeout = Duration.ofSeconds(15);
    private int maxAttempts = 3;
    private Duration initialBackoff = Duration.ofMillis(200);
    private int maxConnections = 4;

    private Builder() {}

    public Builder host(String host) {
      this.host = Objects.requireNonNull(host);
      return this;
    }

    public Builder port(int port) {
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port out of range: " + port);
      }
      this.port = port;
      return this;
    }

    public Builder caFile(Path f) {
      this.caFile = Objects.requireNonNull(f);
      return this;
    }

    public Builder certFile(Path f) {
      this.certFile = Objects.requireNonNull(f);
      return this;
    }

    public Builder keyFile(Path f) {
      this.keyFile = Objects.requireNonNull(f);
      return this;
    }

    public Builder connectTimeout(Duration d) {
      this.connectTimeout = positive(d);
      return this;
    }

    public Builder readTimeout(Duration d) {
      this.readTimeout = positive(d);
      return this;
    }

    public Builder maxAttempts(int n) {
      if (n < 1 || n > 10) {
        throw new IllegalArgumentException("maxAttempts must be 1 to 10");
      }
      this.maxAttempts = n;
      return this;
    }

    public Builder initialBackoff(Duration d) {
      this.initialBackoff = Objects.requireNonNull(d);
      if (d.isNegative()) {
        throw new IllegalArgumentException("backoff must not be negative");
      }
      return this;
    }

    public Builder maxConnections(int n) {
      if (n < 1 || n > 64) {
        throw new IllegalArgumentException("maxConnections must be 1 to 64");
      }
      this.maxConnections = n;
      return this;
    }

    public KmipConfig build() {
      if (host == null || host.isBlank()) {
        throw new IllegalStateException("a KMIP host is required");
      }
      if (caFile == null || certFile == null || keyFile == null) {
        throw new IllegalStateException("KMIP needs a CA file, a client certificate file and a client key file");
      }
      return new KmipConfig(this);
    }

    private static Duration positive(Duration d) {
      if (d == null || d.isZero() || d.isNegative()) {
        throw new IllegalArgumentException("duration must be positive");
      }
      return d;
    }
  }
}
