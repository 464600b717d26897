package io.coffer.kms.kmip;

import io.coffer.kms.KmsUnavailableException;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small KMIP 1.2 client over mutual TLS: one request per message (batch count 1), a bounded
 * pool of persistent connections, and bounded retries with exponential backoff.
 *
 * <p>A request is retried after a network failure if it is idempotent (Encrypt, Decrypt, MAC,
 * Create — a repeated Create leaves at worst an unused object) or if it was never fully sent.
 * When the tries are spent the caller gets {@link KmsUnavailableException}; nothing is skipped.
 * A failure answer from the server is not retried: it is a {@link KmipResultException}.
 *
 * <p>Thread-safe.
 */
final class KmipClient implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KmipClient.class);
  private static final int MAX_RESPONSE_BYTES = 1 << 20;
  private static final long IDLE_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(30);

  private final KmipConfig config;
  private final SSLContext tls;
  private final Semaphore permits;
  private final Deque<Connection> idle = new ArrayDeque<>(); // guarded by itself
  private volatile boolean closed;

  KmipClient(KmipConfig config, SSLContext tls) {
    this.config = config;
    this.tls = tls;
    this.permits = new Semaphore(config.maxConnections(), true);
  }

  /** One TLS connection and when it was last used. */
  private static final class Connection implements AutoCloseable {
    final SSLSocket socket;
    final DataInputStream in;
    final OutputStream out;
    long lastUsed = System.nanoTime();

    Connection(SSLSocket socket) throws IOException {
      this.socket = socket;
      this.in = new DataInputStream(socket.getInputStream());
      this.out = socket.getOutputStream();
    }

    @Override
    public void close() {
      try {
        socket.close();
      } catch (IOException ignored) {
        // nothing useful to do about a failed close of a broken connection
      }
    }
  }

  /**
   * Sends one operation and returns its response payload (possibly {@code null} if the server
   * sent none).
   */
  Ttlv call(int operation, Ttlv payload, boolean idempotent) throws KmsUnavailableException, KmipResultException {
    byte[] request = request(operation, payload).encode();
    IOException last = null;
    long backoff = config.initialBackoff().toMillis();
    for (int attempt = 1; attempt <= config.maxAttempts(); attempt++) {
      if (closed) {
        throw new IllegalStateException("the KMIP client is closed");
      }
      if (attempt > 1) {
        sleep(backoff + ThreadLocalRandom.current().nextLong(backoff / 2 + 1));
        backoff = Math.min(backoff * 2, 5_000);
      }
      boolean sent = false;
      Connection c = null;
      try {
        acquire();
        try {
          c = borrow();
          c.out.write(request);
          c.out.flush();
          sent = true;
          byte[] response = readMessage(c.in);
          c.lastUsed = System.nanoTime();
          release(c);
          c = null;
          return parseResponse(operation, response);
        } finally {
          if (c != null) {
            c.close();
          }
          permits.release();
        }
      } catch (TtlvException e) {
        last = new IOException("malformed KMIP response: " + e.getMessage(), e);
      } catch (IOException e) {
        last = e;
      }
      LOG.warn("KMIP {}:{} operation 0x{} attempt {}/{} failed: {}", config.host(), config.port(),
          Integer.toHexString(operation), attempt, config.maxAttempts(), last.toString());
      if (sent && !idempotent) {
        break;
      }
    }
    throw new KmsUnavailableException("KMIP server " + config.host() + ":" + config.port() + " unavailable after "
        + config.maxAttempts() + " attempt(s): " + (last == null ? "unknown error" : last.getMessage()), last);
  }

  private void acquire() throws IOException {
    try {
      if (!permits.tryAcquire(config.readTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IOException("no KMIP connection free within " + config.readTimeout());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted waiting for a KMIP connection", e);
    }
  }

  private Connection borrow() throws IOException {
    synchronized (idle) {
      while (!idle.isEmpty()) {
        Connection c = idle.pollFirst();
        if (System.nanoTime() - c.lastUsed < IDLE_LIMIT_NANOS && !c.socket.isClosed()) {
          return c;
        }
        c.close();
      }
    }
    return connect();
  }

  private void release(Connection c) {
    synchronized (idle) {
      if (!closed) {
        idle.addFirst(c);
        return;
      }
    }
    c.close();
  }

  private Connection connect() throws IOException {
    Socket raw = new Socket();
    try {
      raw.connect(new InetSocketAddress(config.host(), config.port()), (int) config.connectTimeout().toMillis());
      raw.setSoTimeout((int) config.readTimeout().toMillis());
      raw.setTcpNoDelay(true);
      SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket(raw, config.host(), config.port(), true);
      SSLParameters p = s.getSSLParameters();
      p.setProtocols(supported(TlsContexts.PROTOCOLS, s.getSupportedProtocols()));
      p.setCipherSuites(supported(TlsContexts.CIPHER_SUITES, s.getSupportedCipherSuites()));
      // Checks the server certificate names the host we dialled (DNS or IP SAN).
      p.setEndpointIdentificationAlgorithm("HTTPS");
      s.setSSLParameters(p);
      s.startHandshake();
      return new Connection(s);
    } catch (IOException | RuntimeException e) {
      raw.close();
      throw e;
    }
  }

  private static String[] supported(String[] wanted, String[] available) {
    List<String> out = new ArrayList<>();
    List<String> have = List.of(available);
    for (String w : wanted) {
      if (have.contains(w)) {
        out.add(w);
      }
    }
    return out.toArray(new String[0]);
  }

  private static byte[] readMessage(DataInputStream in) throws IOException {
    byte[] header = new byte[Ttlv.HEADER_LENGTH];
    in.readFully(header);
    int tag = ((header[0] & 0xFF) << 16) | ((header[1] & 0xFF) << 8) | (header[2] & 0xFF);
    int length = ByteBuffer.wrap(header, 4, 4).getInt();
    if (tag != Kmip.RESPONSE_MESSAGE || header[3] != Ttlv.STRUCTURE) {
      throw new IOException("KMIP server sent something other than a response message");
    }
    if (length < 0 || length > MAX_RESPONSE_BYTES || length % 8 != 0) {
      throw new IOException("KMIP response length " + Integer.toUnsignedString(length) + " is not acceptable");
    }
    byte[] message = new byte[Ttlv.HEADER_LENGTH + length];
    System.arraycopy(header, 0, message, 0, Ttlv.HEADER_LENGTH);
    in.readFully(message, Ttlv.HEADER_LENGTH, length);
    return message;
  }

  private static Ttlv request(int operation, Ttlv payload) {
    return Ttlv.structure(Kmip.REQUEST_MESSAGE,
        Ttlv.structure(Kmip.REQUEST_HEADER,
            Ttlv.structure(Kmip.PROTOCOL_VERSION,
                Ttlv.integer(Kmip.PROTOCOL_VERSION_MAJOR, 1),
                Ttlv.integer(Kmip.PROTOCOL_VERSION_MINOR, 2)),
            Ttlv.integer(Kmip.MAXIMUM_RESPONSE_SIZE, MAX_RESPONSE_BYTES),
            Ttlv.integer(Kmip.BATCH_COUNT, 1)),
        Ttlv.structure(Kmip.BATCH_ITEM,
            Ttlv.enumeration(Kmip.OPERATION, operation),
            payload));
  }

  static Ttlv parseResponse(int operation, byte[] response) throws TtlvException, KmipResultException {
    Ttlv message = Ttlv.decode(response);
    if (message.tag() != Kmip.RESPONSE_MESSAGE) {
      throw new TtlvException("not a response message");
    }
    Ttlv header = message.require(Kmip.RESPONSE_HEADER);
    if (header.require(Kmip.BATCH_COUNT).intValue() != 1) {
      throw new TtlvException("expected one batch item");
    }
    Ttlv item = message.require(Kmip.BATCH_ITEM);
    Ttlv op = item.child(Kmip.OPERATION);
    if (op != null && op.intValue() != operation) {
      throw new TtlvException("response is for operation 0x" + Integer.toHexString(op.intValue()));
    }
    int status = item.require(Kmip.RESULT_STATUS).intValue();
    if (status != Kmip.STATUS_SUCCESS) {
      Ttlv reason = item.child(Kmip.RESULT_REASON);
      Ttlv text = item.child(Kmip.RESULT_MESSAGE);
      throw new KmipResultException(operation, reason == null ? -1 : reason.intValue(),
          text == null ? "(no message)" : text.textValue());
    }
    return item.child(Kmip.RESPONSE_PAYLOAD);
  }

  private static void sleep(long millis) throws KmsUnavailableException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KmsUnavailableException("interrupted while waiting to retry a KMIP request", e);
    }
  }

  @Override
  public void close() {
    closed = true;
    synchronized (idle) {
      idle.forEach(Connection::close);
      idle.clear();
    }
  }
}
