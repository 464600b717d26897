package io.coffer.mount;

import io.coffer.core.rpc.Op;
import io.coffer.core.rpc.Protocol;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * An end-to-end check of a tunnel or a server: connect, HELLO, NULL, and both replies, as the
 * client daemon would. Through a tunnel this proves the proxy accepts, reaches the server, does
 * TLS and relays both ways. Plain blocking sockets on purpose: the check must not share an event
 * loop with anything that could itself be stuck.
 */
final class HealthCheck {
    enum Verdict {
        /** Both replies came. */
        OK,
        /** Nothing listens on the port. */
        REFUSED,
        /** Connected, then no reply within the time: the proxy (or the server) is stuck. */
        TIMEOUT,
        /** The connection was closed before the replies: the proxy is alive but cannot reach or verify the server. */
        CLOSED,
        /** The server answered with an error, or with something that is not Coffer. */
        PROTOCOL
    }

    record Result(Verdict verdict, String detail, long millis) {
        boolean ok() {
            return verdict == Verdict.OK;
        }
    }

    private HealthCheck() {
    }

    static Result check(String host, int port, UUID clientId, long timeoutMillis) {
        long t0 = System.nanoTime();
        try (Socket s = new Socket()) {
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(host, port), (int) Math.max(1, timeoutMillis));
            long left = timeoutMillis - (System.nanoTime() - t0) / 1_000_000;
            s.setSoTimeout((int) Math.max(1, left));
            OutputStream out = s.getOutputStream();
            out.write(call(1, Op.HELLO.code(), hello(clientId)));
            out.write(call(2, Op.NULL.code(), new byte[0]));
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            for (int i = 0; i < 2; i++) {
                int len = in.readInt();
                if (len < 13 || len > Protocol.MAX_FRAME) {
                    return result(Verdict.PROTOCOL, "reply frame of " + len + " bytes: not a Coffer server", t0);
                }
                int type = in.readUnsignedByte();
                long xid = in.readLong();
                int status = in.readInt();
                in.skipNBytes(len - 13);
                if (type != Protocol.TYPE_REPLY || (xid != 1 && xid != 2)) {
                    return result(Verdict.PROTOCOL, "unexpected frame type " + type + " xid " + xid, t0);
                }
                if (status != 0) {
                    return result(Verdict.PROTOCOL, (xid == 1 ? "HELLO" : "NULL") + " failed with errno " + status, t0);
                }
                // Each new timeout counts from the last thing heard.
                left = timeoutMillis - (System.nanoTime() - t0) / 1_000_000;
                if (left <= 0) {
                    return result(Verdict.TIMEOUT, "no reply within " + timeoutMillis + " ms", t0);
                }
                s.setSoTimeout((int) left);
            }
            return result(Verdict.OK, "HELLO and NULL answered", t0);
        } catch (ConnectException e) {
            return result(Verdict.REFUSED, "nothing listens on " + host + ":" + port + " (" + e.getMessage() + ")", t0);
        } catch (SocketTimeoutException e) {
            return result(Verdict.TIMEOUT, "no reply within " + timeoutMillis + " ms", t0);
        } catch (EOFException e) {
            return result(Verdict.CLOSED, "connection closed before the server replied", t0);
        } catch (IOException e) {
            String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            if (m.contains("reset")) {
                return result(Verdict.CLOSED, "connection reset before the server replied", t0);
            }
            return result(Verdict.CLOSED, m, t0);
        }
    }

    private static Result result(Verdict v, String detail, long t0) {
        return new Result(v, detail, (System.nanoTime() - t0) / 1_000_000);
    }

    /** A call frame: u32 length, u8 type, u64 xid, u16 op, u32 uid, u32 gid, u8 ngroups, body. */
    static byte[] call(long xid, int op, byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(4 + 1 + 8 + 2 + 4 + 4 + 1 + body.length);
        b.putInt(b.capacity() - 4);
        b.put((byte) Protocol.TYPE_CALL);
        b.putLong(xid);
        b.putShort((short) op);
        b.putInt(0);
        b.putInt(0);
        b.put((byte) 0);
        b.put(body);
        return b.array();
    }

    /** HELLO's body: magic, lowest and highest version, client id, client name. */
    static byte[] hello(UUID clientId) {
        byte[] name = "coffer-watchdog".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + 2 + 2 + 16 + 2 + name.length);
        b.putInt(Protocol.MAGIC);
        b.putShort((short) Protocol.VERSION_MIN);
        b.putShort((short) Protocol.VERSION_MAX);
        b.putLong(clientId.getMostSignificantBits());
        b.putLong(clientId.getLeastSignificantBits());
        b.putShort((short) name.length);
        b.put(name);
        return b.array();
    }
}
