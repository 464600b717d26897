package io.coffer.kms;

import static org.junit.jupiter.api.Assertions.fail;

import io.coffer.kms.kmip.KmipConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code pykmip-server} (Debian's python3-pykmip) on a loopback port, with mutual TLS
 * certificates generated for the test. Stopped with SIGINT, as PyKMIP expects.
 */
public final class PyKmipServer implements AutoCloseable {
  public final TestPki pki;
  public final Path dir;
  private final Path executable;
  private int port;
  private Process process;

  private PyKmipServer(Path dir, TestPki pki, Path executable) {
    this.dir = dir;
    this.pki = pki;
    this.executable = executable;
  }

  /** Generates certificates under {@code dir} and starts the server on a free port. */
  public static PyKmipServer start(Path dir) throws Exception {
    Path exe = ExternalTools.require("pykmip-server", "python3-pykmip");
    PyKmipServer s = new PyKmipServer(dir, TestPki.create(dir.resolve("pki")), exe);
    s.port = freePort();
    s.launch();
    return s;
  }

  public int port() {
    return port;
  }

  /** A client config for this server. */
  public KmipConfig.Builder clientConfig() {
    return KmipConfig.builder().host("127.0.0.1").port(port).caFile(pki.ca).certFile(pki.clientCert)
        .keyFile(pki.clientKey).initialBackoff(Duration.ofMillis(50)).readTimeout(Duration.ofSeconds(20));
  }

  /** Starts the server again on the same port and database (after {@link #stop()}). */
  public void launch() throws Exception {
    Path conf = dir.resolve("server.conf");
    Path policies = dir.resolve("policies");
    Files.createDirectories(policies);
    Files.writeString(conf, "[server]\n"
        + "hostname=127.0.0.1\n"
        + "port=" + port + "\n"
        + "certificate_path=" + pki.serverCert + "\n"
        + "key_path=" + pki.serverKey + "\n"
        + "ca_path=" + pki.ca + "\n"
        + "auth_suite=TLS1.2\n"
        + "policy_path=" + policies + "\n"
        + "enable_tls_client_auth=True\n"
        + "logging_level=INFO\n"
        + "database_path=" + dir.resolve("pykmip.db") + "\n", StandardCharsets.UTF_8);
    ProcessBuilder pb = new ProcessBuilder(executable.toString(), "-f", conf.toString(),
        "-l", dir.resolve("server.log").toString())
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("server.out").toFile());
    process = pb.start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        fail("pykmip-server exited with " + process.exitValue() + ": " + tail());
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException notYet) {
        Thread.sleep(100);
      }
    }
    stop();
    fail("pykmip-server did not listen on port " + port + " within 30 s: " + tail());
  }

  /**
   * SIGINT, then a forced kill if it lingers (PyKMIP waits up to 10 s per open client session
   * before it exits).
   */
  public void stop() throws IOException, InterruptedException {
    if (process == null || !process.isAlive()) {
      return;
    }
    List<ProcessHandle> children = process.descendants().toList();
    new ProcessBuilder("kill", "-INT", Long.toString(process.pid())).start().waitFor(5, TimeUnit.SECONDS);
    if (!process.waitFor(15, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
    killAll(children);
    awaitPortFree();
  }

  /**
   * PyKMIP runs its policy-directory monitor as a child process, which outlives a killed parent
   * (the test runs left orphaned pykmip-server processes behind): take the children down too.
   */
  private static void killAll(List<ProcessHandle> children) {
    for (ProcessHandle h : children) {
      h.destroyForcibly();
    }
    for (ProcessHandle h : children) {
      try {
        h.onExit().get(5, TimeUnit.SECONDS);
      } catch (Exception e) {
        // gone or stuck: nothing more a test can do
      }
    }
  }

  /** SIGKILL: the server dies as in a crash, with client connections still open. */
  public void kill() throws IOException, InterruptedException {
    if (process == null || !process.isAlive()) {
      return;
    }
    List<ProcessHandle> children = process.descendants().toList();
    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    killAll(children);
    awaitPortFree();
  }

  private void awaitPortFree() throws InterruptedException {
    // The listening socket may linger briefly; wait until the port is really free.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      try (ServerSocket probe = new ServerSocket()) {
        probe.setReuseAddress(true);
        probe.bind(new InetSocketAddress("127.0.0.1", port));
        return;
      } catch (IOException stillBound) {
        Thread.sleep(100);
      }
    }
  }

  public String tail() {
    try {
      String out = Files.exists(dir.resolve("server.out")) ? Files.readString(dir.resolve("server.out")) : "";
      String log = Files.exists(dir.resolve("server.log")) ? Files.readString(dir.resolve("server.log")) : "";
      String all = out + "\n--- server.log ---\n" + log;
      return all.length() > 4000 ? all.substring(all.length() - 4000) : all;
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  @Override
  public void close() throws IOException {
    try {
      stop();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted stopping pykmip-server", e);
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
