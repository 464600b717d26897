package io.coffer.core.rpc;

import io.coffer.core.status.ProtocolException;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * Primitive encodings shared by both ends. Every read checks lengths against what is left in the
 * frame, so a malformed frame fails with {@link ProtocolException} instead of reading garbage.
 */
public final class Wire {
    private Wire() {
    }

    public static void writeString(ByteBuf out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > 0xFFFF) {
            throw new IllegalArgumentException("string too long for the wire: " + b.length);
        }
        out.writeShort(b.length);
        out.writeBytes(b);
    }

    public static String readString(ByteBuf in, int maxBytes) throws ProtocolException {
        need(in, 2);
        int n = in.readUnsignedShort();
        if (n > maxBytes) {
            throw new ProtocolException("string of " + n + " bytes exceeds limit " + maxBytes);
        }
        need(in, n);
        String s = in.toString(in.readerIndex(), n, StandardCharsets.UTF_8);
        in.skipBytes(n);
        return s;
    }

    public static void writeBytes(ByteBuf out, byte[] b) {
        out.writeInt(b.length);
        out.writeBytes(b);
    }

    public static byte[] readBytes(ByteBuf in, int maxBytes) throws ProtocolException {
        need(in, 4);
        int n = in.readInt();
        if (n < 0 || n > maxBytes) {
            throw new ProtocolException("byte string of " + n + " bytes exceeds limit " + maxBytes);
        }
        need(in, n);
        byte[] b = new byte[n];
        in.readBytes(b);
        return b;
    }

    public static void need(ByteBuf in, int n) throws ProtocolException {
        if (in.readableBytes() < n) {
            throw new ProtocolException("truncated message: need " + n + " bytes, have " + in.readableBytes());
        }
    }
}
