package io.coffer.mount;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** The health check against small fake peers: one that answers, one that hangs, one that hangs up. */
class HealthCheckTest {
    private interface Peer {
        void serve(Socket s) throws Exception;
    }

    private static int serve(ServerSocket ss, Peer peer) {
        Thread t = new Thread(() -> {
            try (Socket s = ss.accept()) {
                peer.serve(s);
            } catch (Exception e) {
                // The test sees the outcome.
            }
        });
        t.setDaemon(true);
        t.start();
        return ss.getLocalPort();
    }

    @Test
    void answersAreOk() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = serve(ss, s -> {
                DataInputStream in = new DataInputStream(s.getInputStream());
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                for (int i = 0; i < 2; i++) {
                    int len = in.readInt();
                    byte[] frame = new byte[len];
                    in.readFully(frame);
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(frame);
                    assertEquals(1, b.get());
                    long xid = b.getLong();
                    int op = b.getShort();
                    assertEquals(xid == 1 ? 1 : 0, op);
                    if (op == 1) {
                        b.getInt();
                        b.getInt();
                        b.get();
                        assertEquals(0x434F4652, b.getInt());
                    }
                    out.writeInt(13 + 4);
                    out.writeByte(2);
                    out.writeLong(xid);
                    out.writeInt(0);
                    out.writeInt(42);
                }
                out.flush();
                in.read();
            });
            HealthCheck.Result r = HealthCheck.check("127.0.0.1", port, UUID.randomUUID(), 3000);
            assertEquals(HealthCheck.Verdict.OK, r.verdict(), r.detail());
        }
    }

    @Test
    void silenceIsATimeout() throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = serve(ss, s -> done.await());
            HealthCheck.Result r = HealthCheck.check("127.0.0.1", port, UUID.randomUUID(), 300);
            assertEquals(HealthCheck.Verdict.TIMEOUT, r.verdict());
            done.countDown();
        }
    }

    @Test
    void hangingUpIsClosed() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = serve(ss, s -> s.close());
            assertEquals(HealthCheck.Verdict.CLOSED, HealthCheck.check("127.0.0.1", port, UUID.randomUUID(), 3000).verdict());
        }
    }

    @Test
    void nobodyListeningIsRefused() throws Exception {
        int port;
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = ss.getLocalPort();
        }
        assertEquals(HealthCheck.Verdict.REFUSED, HealthCheck.check("127.0.0.1", port, UUID.randomUUID(), 1000).verdict());
    }
}
