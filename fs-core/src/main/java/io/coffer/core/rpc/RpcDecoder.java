package io.coffer.core.rpc;

import io.coffer.core.Credentials;
import io.coffer.core.Status;
import io.coffer.core.status.ProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;

/**
 * Splits the stream into length-prefixed frames and parses their headers into {@link RpcCall}
 * or {@link RpcReply}. An oversized or malformed frame raises an exception; the handler above
 * closes the connection and logs why, as the protocol requires.
 */
public final class RpcDecoder extends LengthFieldBasedFrameDecoder {
    private final boolean acceptCalls;

    /**
     * @param acceptCalls true on the server (expects calls), false on the client (expects replies)
     */
    public RpcDecoder(boolean acceptCalls) {
        super(Protocol.MAX_FRAME, 0, 4, 0, 4, true);
        this.acceptCalls = acceptCalls;
    }

    @Override
    protected Object decode(ChannelHandlerContext ctx, ByteBuf in) throws Exception {
        ByteBuf frame = (ByteBuf) super.decode(ctx, in);
        if (frame == null) {
            return null;
        }
        try {
            Wire.need(frame, 9);
            int type = frame.readUnsignedByte();
            long xid = frame.readLong();
            if (acceptCalls) {
                if (type != Protocol.TYPE_CALL) {
                    throw new ProtocolException("expected a call frame, got type " + type);
                }
                Wire.need(frame, 2);
                int field = frame.readUnsignedShort();
                boolean retransmission = (field & RpcCall.RETRANSMISSION_BIT) != 0;
                int code = field & ~RpcCall.RETRANSMISSION_BIT;
                Op op = Op.ofCode(code);
                if (op == null) {
                    throw new ProtocolException("unknown operation code " + code);
                }
                Wire.need(frame, 9);
                Credentials creds;
                try {
                    creds = Credentials.read(frame);
                } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
                    throw new ProtocolException("bad credentials: " + e.getMessage());
                }
                return new RpcCall(xid, op, creds, frame.retainedSlice(), retransmission);
            } else {
                if (type != Protocol.TYPE_REPLY) {
                    throw new ProtocolException("expected a reply frame, got type " + type);
                }
                Wire.need(frame, 4);
                Status status = Status.ofErrno(frame.readInt());
                return new RpcReply(xid, status, frame.retainedSlice());
            }
        } finally {
            frame.release();
        }
    }
}
