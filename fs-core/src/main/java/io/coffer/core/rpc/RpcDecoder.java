package io.coffer.core.rpc;

import io.coffer.core.Credentials;
import io.coffer.core.Status;
import io.coffer.core.status.ProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
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
        this(acceptCalls, (FrameSpace) null);
    }

    /**
     * @param large where frames of a few hundred KiB and more are gathered (see {@link FrameBuffers}),
     *     or null for the channel's allocator
     */
    public RpcDecoder(boolean acceptCalls, FrameBuffers large) {
        this(acceptCalls, large == null ? null : large::buffer);
    }

    /** Where a frame that arrives in many socket reads is gathered. */
    public interface FrameSpace {
        ByteBuf buffer(ByteBufAllocator alloc, int size);
    }

    /**
     * Frames of {@link FrameBuffers#MIN_FRAME} and more on the heap, the rest from the channel's
     * allocator: for the server, whose cipher seals WRITE data from heap arrays (a direct frame
     * was copied to the heap once more before sealing, ~3% of its CPU during a sequential write).
     */
    public static final FrameSpace LARGE_ON_HEAP = (alloc, size) ->
            size >= FrameBuffers.MIN_FRAME ? alloc.heapBuffer(size) : alloc.ioBuffer(size);

    /**
     * @param frames where frames that arrive in many socket reads are gathered, or null for the
     *     channel's allocator
     */
    public RpcDecoder(boolean acceptCalls, FrameSpace frames) {
        super(Protocol.MAX_FRAME, 0, 4, 0, 4, true);
        this.acceptCalls = acceptCalls;
        setCumulator(frames == null ? FRAME_SIZED : frameSized(frames));
    }

    /**
     * Gathers a frame that arrives in many socket reads into one buffer sized for the whole frame
     * when it first has to grow. Netty's default cumulator grows by reallocation, copying what it
     * holds each time: a 1 MiB READ reply or WRITE call arriving 64 KiB at a time was copied ~8
     * times over (~30% of the client's CPU during a sequential read, ~10% of the server's during a
     * write).
     */
    static final Cumulator FRAME_SIZED = frameSized(null);

    static Cumulator frameSized(FrameSpace large) {
        return (alloc, cumulation, in) -> {
            if (!cumulation.isReadable() && in.isContiguous()) {
                cumulation.release();
                return in;
            }
            try {
                int incoming = in.readableBytes();
                if (incoming <= cumulation.writableBytes() && cumulation.refCnt() == 1 && !cumulation.isReadOnly()) {
                    cumulation.writeBytes(in);
                    return cumulation;
                }
                int held = cumulation.readableBytes();
                int want = held + incoming;
                if (held >= 4) {
                    // The reader index is at the start of a frame: its length says how much is coming.
                    long frame = 4L + cumulation.getUnsignedInt(cumulation.readerIndex());
                    if (frame > want && frame <= 4L + Protocol.MAX_FRAME) {
                        want = (int) frame;
                    }
                }
                ByteBuf whole = large != null ? large.buffer(alloc, want) : alloc.ioBuffer(want);
                whole.writeBytes(cumulation, cumulation.readerIndex(), held);
                whole.writeBytes(in);
                cumulation.release();
                return whole;
            } finally {
                in.release();
            }
        };
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
