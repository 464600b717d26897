package io.coffer.core.rpc;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.util.List;

/**
 * Writes calls and replies as a small header buffer followed by the body itself, so a 1 MiB
 * WRITE payload goes to the socket without being copied into a new frame.
 */
@ChannelHandler.Sharable
public final class RpcEncoder extends MessageToMessageEncoder<Object> {
    public static final RpcEncoder INSTANCE = new RpcEncoder();

    @Override
    public boolean acceptOutboundMessage(Object msg) {
        return msg instanceof RpcCall || msg instanceof RpcReply;
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Object msg, List<Object> out) {
        if (msg instanceof RpcCall call) {
            ByteBuf header = ctx.alloc().ioBuffer(4 + 1 + 8 + 2 + 9 + 4 * call.credentials().groups().length);
            header.writeInt(0);
            header.writeByte(Protocol.TYPE_CALL);
            header.writeLong(call.xid());
            header.writeShort(call.op().code() | (call.retransmission() ? RpcCall.RETRANSMISSION_BIT : 0));
            call.credentials().write(header);
            header.setInt(0, header.readableBytes() - 4 + call.body().readableBytes());
            out.add(header);
            out.add(call.body().retain());
        } else {
            RpcReply reply = (RpcReply) msg;
            ByteBuf header = ctx.alloc().ioBuffer(4 + 1 + 8 + 4);
            header.writeInt(1 + 8 + 4 + reply.body().readableBytes());
            header.writeByte(Protocol.TYPE_REPLY);
            header.writeLong(reply.xid());
            header.writeInt(reply.status().errno());
            out.add(header);
            out.add(reply.body().retain());
        }
    }
}
