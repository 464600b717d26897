package io.coffer.core.rpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.coffer.core.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.TooLongFrameException;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Frames that arrive in many pieces, several to a piece, or split inside their length field. */
class RpcDecoderTest {
    static byte[] replyFrame(long xid, byte[] body) {
        ByteBuf b = Unpooled.buffer();
        b.writeInt(1 + 8 + 4 + body.length);
        b.writeByte(Protocol.TYPE_REPLY);
        b.writeLong(xid);
        b.writeInt(0);
        b.writeBytes(body);
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        return out;
    }

    static byte[] body(RpcReply r) {
        byte[] out = new byte[r.body().readableBytes()];
        r.body().getBytes(r.body().readerIndex(), out);
        return out;
    }

    @Test
    void aLargeFrameInSmallPiecesAndSmallFramesAroundItDecodeIntact() {
        decodeIntact(new RpcDecoder(false));
    }

    @Test
    void theServersLargeFramesAreGatheredOnTheHeap() {
        assertTrue(decodeIntact(new RpcDecoder(false, RpcDecoder.LARGE_ON_HEAP)),
                "a heap buffer, which the chunk cipher reads without another copy");
    }

    /** Decodes a 1 MiB frame between two small ones, arriving in odd pieces; returns whether the large one's body is on the heap. */
    private static boolean decodeIntact(RpcDecoder decoder) {
        Random rnd = new Random(1);
        byte[] big = new byte[Protocol.MAX_IO];
        rnd.nextBytes(big);
        byte[] small1 = {1, 2, 3};
        byte[] small2 = new byte[0];
        ByteBuf stream = Unpooled.buffer();
        stream.writeBytes(replyFrame(7, small1)).writeBytes(replyFrame(8, big)).writeBytes(replyFrame(9, small2));
        EmbeddedChannel ch = new EmbeddedChannel(decoder);
        // Pieces of odd sizes, so that frame boundaries and length fields fall inside them.
        int[] sizes = {2, 5, 65_521, 1, 3, 131_071, 64 * 1024};
        int i = 0;
        while (stream.isReadable()) {
            int n = Math.min(sizes[i++ % sizes.length], stream.readableBytes());
            ch.writeInbound(stream.readRetainedSlice(n));
        }
        stream.release();
        RpcReply a = ch.readInbound();
        RpcReply b = ch.readInbound();
        RpcReply c = ch.readInbound();
        assertNull(ch.readInbound());
        assertEquals(7, a.xid());
        assertEquals(Status.OK, a.status());
        assertArrayEquals(small1, body(a));
        assertEquals(8, b.xid());
        assertArrayEquals(big, body(b));
        assertEquals(9, c.xid());
        assertArrayEquals(small2, body(c));
        boolean onHeap = b.body().hasArray();
        a.release();
        b.release();
        c.release();
        ch.finishAndReleaseAll();
        return onHeap;
    }

    @Test
    void aLengthPastTheLimitIsRefusedWithoutReservingIt() {
        EmbeddedChannel ch = new EmbeddedChannel(new RpcDecoder(false));
        ByteBuf b = Unpooled.buffer().writeInt(Protocol.MAX_FRAME + 1).writeBytes(new byte[100]);
        assertThrows(TooLongFrameException.class, () -> {
            ch.writeInbound(b);
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[1000]));
        });
        ch.finishAndReleaseAll();
    }
}
