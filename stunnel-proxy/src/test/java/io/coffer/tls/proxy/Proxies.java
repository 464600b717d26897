package io.coffer.tls.proxy;

import io.coffer.tls.TestPki;
import io.coffer.tls.TlsProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Starting proxies from configuration text, and plaintext clients for their accept side. */
final class Proxies {
    private static final AtomicInteger COUNTER = new AtomicInteger();

    private Proxies() {}

    static ProxyConfig config(Path dir, String text, TlsProvider provider, boolean allowUnverified) throws Exception {
        Path f = dir.resolve("proxy-" + COUNTER.incrementAndGet() + ".conf");
        Files.writeString(f, text);
        return ProxyConfigParser.parse(f, new ProxyConfigParser.Options(provider, allowUnverified));
    }

    static TlsProxy start(Path dir, String text, TlsProvider provider) throws Exception {
        return TlsProxy.start(config(dir, text, provider, false));
    }

    /** Server mode: TLS on an ephemeral loopback port, to {@code targetPort} in plaintext. */
    static String serverConf(TestPki pki, int targetPort, String extra) {
        return "foreground = yes\n"
                + "[srv]\n"
                + "accept = 127.0.0.1:0\n"
                + "connect = 127.0.0.1:" + targetPort + "\n"
                + "cert = " + pki.server.certificateFile() + "\n"
                + "key = " + pki.server.keyFile() + "\n"
                + extra;
    }

    /** Client mode: plaintext on an ephemeral loopback port, TLS to {@code tlsPort}, verifying the server. */
    static String clientConf(TestPki pki, int tlsPort, String extra) {
        return "foreground = yes\n"
                + "[cli]\n"
                + "client = yes\n"
                + "accept = 127.0.0.1:0\n"
                + "connect = 127.0.0.1:" + tlsPort + "\n"
                + "CAfile = " + pki.caFile + "\n"
                + "verify = 2\n"
                + "checkHost = " + TestPki.FS_ID + "\n"
                + extra;
    }

    static Socket connect(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
        s.setSoTimeout(60_000);
        return s;
    }

    static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Sends {@code data} and reads the same number of bytes back, reading while writing; no half-close. */
    static byte[] exchange(int port, byte[] data) throws Exception {
        try (Socket s = connect(port)) {
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    OutputStream out = s.getOutputStream();
                    for (int off = 0; off < data.length; off += 64 * 1024) {
                        out.write(data, off, Math.min(64 * 1024, data.length - off));
                    }
                    out.flush();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            byte[] got = new byte[data.length];
            InputStream in = s.getInputStream();
            int off = 0;
            while (off < got.length) {
                int n = in.read(got, off, got.length - off);
                if (n < 0) {
                    throw new IOException("EOF after " + off + " of " + got.length + " bytes");
                }
                off += n;
            }
            writer.get(60, TimeUnit.SECONDS);
            return got;
        }
    }

    /** Sends {@code data}, half-closes, and returns everything read until EOF. */
    static byte[] roundTrip(int port, byte[] data) throws Exception {
        try (Socket s = connect(port)) {
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    OutputStream out = s.getOutputStream();
                    for (int off = 0; off < data.length; off += 64 * 1024) {
                        out.write(data, off, Math.min(64 * 1024, data.length - off));
                    }
                    out.flush();
                    s.shutdownOutput();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            ByteArrayOutputStream got = new ByteArrayOutputStream(data.length);
            InputStream in = s.getInputStream();
            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = in.read(buf)) >= 0) {
                got.write(buf, 0, n);
            }
            writer.get(60, TimeUnit.SECONDS);
            return got.toByteArray();
        }
    }

    /**
     * Sends {@code data}, reads its echo in full, then half-closes and waits for the far end's
     * FIN to come back: returns the echo, or throws if the EOF does not arrive in 30 s.
     */
    static byte[] roundTripThenHalfClose(int port, byte[] data) throws Exception {
        try (Socket s = connect(port)) {
            s.setSoTimeout(30_000);
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    OutputStream out = s.getOutputStream();
                    out.write(data);
                    out.flush();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            byte[] got = s.getInputStream().readNBytes(data.length);
            writer.get(60, TimeUnit.SECONDS);
            s.shutdownOutput();
            int after = s.getInputStream().read();
            if (after != -1) {
                throw new AssertionError("expected the far end's FIN after the echo, got more data");
            }
            return got;
        }
    }

    /**
     * Streams {@code total} pseudo-random bytes through an echo path, reading concurrently, and
     * returns {sha256 sent, sha256 received, bytes received} without holding the data in memory.
     */
    static String[] streamChecksum(int port, long total, boolean halfClose) throws Exception {
        try (Socket s = connect(port)) {
            CompletableFuture<String> writer = CompletableFuture.supplyAsync(() -> {
                try {
                    MessageDigest md = MessageDigest.getInstance("SHA-256");
                    Random r = new Random(42);
                    byte[] chunk = new byte[64 * 1024];
                    OutputStream out = s.getOutputStream();
                    long left = total;
                    while (left > 0) {
                        int n = (int) Math.min(chunk.length, left);
                        r.nextBytes(chunk);
                        md.update(chunk, 0, n);
                        out.write(chunk, 0, n);
                        left -= n;
                    }
                    out.flush();
                    if (halfClose) {
                        s.shutdownOutput();
                    }
                    return java.util.HexFormat.of().formatHex(md.digest());
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            InputStream in = s.getInputStream();
            byte[] buf = new byte[64 * 1024];
            long got = 0;
            int n;
            while ((halfClose || got < total) && (n = in.read(buf, 0, halfClose ? buf.length
                    : (int) Math.min(buf.length, total - got))) >= 0) {
                md.update(buf, 0, n);
                got += n;
            }
            String sent = writer.get(120, TimeUnit.SECONDS);
            return new String[] {sent, java.util.HexFormat.of().formatHex(md.digest()), Long.toString(got)};
        }
    }
}
