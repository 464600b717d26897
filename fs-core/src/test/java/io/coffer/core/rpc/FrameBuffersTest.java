package io.coffer.core.rpc;

import static io.coffer.core.rpc.RpcDecoderTest.body;
import static io.coffer.core.rpc.RpcDecoderTest.replyFrame;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Large frames gathered in reused memory: intact, reused only once released, given back when idle. */
class FrameBuffersTest {
    private static final int SLOT = (1 << 20) + 4096;

    /** Feeds frames in TLS-record-sized pieces, as a socket behind TLS delivers them. */
    private static void feed(EmbeddedChannel ch, byte[]... frames) {
        ByteBuf stream = Unpooled.buffer();
        for (byte[] f : frames) {
            stream.writeBytes(f);
        }
        while (stream.isReadable()) {
            ch.writeInbound(stream.readRetainedSlice(Math.min(16_384, stream.readableBytes())));
        }
        stream.release();
    }

    @Test
    void largeFramesReuseReleasedMemoryOnlyAndStayIntact() {
        FrameBuffers large = new FrameBuffers(SLOT, 2);
        EmbeddedChannel ch = new EmbeddedChannel(new RpcDecoder(false, large));
        Random rnd = new Random(3);
        List<byte[]> bodies = new ArrayList<>();
        List<RpcReply> held = new ArrayList<>();
        // Three 1 MiB replies held at once: three buffers, none shared.
        for (int i = 0; i < 3; i++) {
            byte[] b = new byte[1 << 20];
            rnd.nextBytes(b);
            bodies.add(b);
            feed(ch, replyFrame(i, b));
            held.add(ch.readInbound());
        }
        assertEquals(3, large.live());
        for (int i = 0; i < 3; i++) {
            assertEquals(i, held.get(i).xid());
            assertArrayEquals(bodies.get(i), body(held.get(i)), "reply " + i + " intact while others arrived");
        }
        // Released: two kept (the limit), one freed.
        held.forEach(RpcReply::release);
        assertEquals(0, large.live());
        assertEquals(2, large.idle());
        // The next replies land in the kept memory, over the old bytes, and read back as sent.
        byte[] next = new byte[700_000];
        rnd.nextBytes(next);
        byte[] small = {9, 8, 7};
        feed(ch, replyFrame(10, small), replyFrame(11, next), replyFrame(12, small));
        RpcReply a = ch.readInbound();
        RpcReply b = ch.readInbound();
        RpcReply c = ch.readInbound();
        assertEquals(1, large.idle(), "one kept buffer taken again");
        assertArrayEquals(small, body(a));
        assertArrayEquals(next, body(b));
        assertArrayEquals(small, body(c));
        a.release();
        b.release();
        c.release();
        assertEquals(2, large.idle());
        ch.finishAndReleaseAll();
    }

    @Test
    void sizesOutsideTheSlotComeFromTheAllocatorAndIdleMemoryIsGivenBack() {
        FrameBuffers large = new FrameBuffers(SLOT, 4);
        ByteBuf tooSmall = large.buffer(ByteBufAllocator.DEFAULT, 64 * 1024);
        ByteBuf tooBig = large.buffer(ByteBufAllocator.DEFAULT, SLOT + 1);
        assertEquals(0, large.live());
        tooSmall.release();
        tooBig.release();
        assertEquals(0, large.idle());

        ByteBuf one = large.buffer(ByteBufAllocator.DEFAULT, 300_000);
        assertEquals(0, one.readableBytes());
        assertTrue(one.writableBytes() >= 300_000);
        assertTrue(one.hasMemoryAddress(), "direct memory, so replies copy out by address");
        one.release();
        assertEquals(1, large.idle());
        // A trim right after use keeps it (a stream may go on); one with no use since frees it.
        large.trim();
        assertEquals(1, large.idle());
        large.trim();
        assertEquals(0, large.idle());

        ByteBuf two = large.buffer(ByteBufAllocator.DEFAULT, 300_000);
        large.close();
        two.release();
        assertEquals(0, large.idle(), "released after close: freed, not kept");
        assertFalse(two.refCnt() > 0);
    }

    @Test
    void aWholeSlotHasAFixedCapacityAndComesBackThroughACompositeThatHeldIt() {
        FrameBuffers large = new FrameBuffers(SLOT, 4);
        ByteBuf b = large.buffer(ByteBufAllocator.DEFAULT, SLOT);
        assertEquals(SLOT, b.capacity());
        b.writeZero(SLOT);
        assertThrows(IndexOutOfBoundsException.class, () -> b.writeByte(1));
        b.clear().writeInt(7);
        ByteBuf composite = ByteBufAllocator.DEFAULT.compositeBuffer(2)
                .addComponents(true, Unpooled.buffer(4).writeInt(1), b);
        assertEquals(1, large.live());
        composite.release();
        assertEquals(0, large.live());
        assertEquals(1, large.idle(), "released with the composite, back for reuse");
        ByteBuf again = large.buffer(ByteBufAllocator.DEFAULT, SLOT);
        assertEquals(0, again.readableBytes(), "a reused buffer starts empty");
        assertEquals(SLOT, again.writableBytes());
        again.release();
    }
}
