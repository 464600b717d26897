package io.coffer.client.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class GatherBuffersTest {
    @Test
    void releasedBuffersAreReusedEmptyAndAtMostKeepAreKept() {
        GatherBuffers g = new GatherBuffers(64 * 1024, 2);
        List<ByteBuf> bufs = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ByteBuf b = g.take();
            assertEquals(0, b.readableBytes());
            assertEquals(64 * 1024, b.capacity());
            assertTrue(b.hasMemoryAddress(), "the write path copies by address");
            b.writeLong(i);
            bufs.add(b);
        }
        assertEquals(5, g.made());
        bufs.forEach(ByteBuf::release);
        assertEquals(2, g.idle(), "three were freed, two kept");
        ByteBuf again = g.take();
        assertEquals(5, g.made(), "taken from the idle ones");
        assertEquals(0, again.readableBytes(), "a reused buffer starts empty");
        assertEquals(64 * 1024, again.writableBytes());
        again.release();
        assertEquals(2, g.idle());
    }

    @Test
    void capacityIsFixed() {
        GatherBuffers g = new GatherBuffers(1024, 1);
        ByteBuf b = g.take();
        b.writeZero(1024);
        assertThrows(IndexOutOfBoundsException.class, () -> b.writeByte(1));
        b.release();
    }

    @Test
    void aBufferReleasedThroughASliceOrCompositeComesBack() {
        GatherBuffers g = new GatherBuffers(4096, 4);
        ByteBuf b = g.take();
        b.writeInt(7);
        ByteBuf composite = io.netty.buffer.PooledByteBufAllocator.DEFAULT.compositeBuffer(2)
                .addComponents(true, io.netty.buffer.Unpooled.buffer(4).writeInt(1), b);
        composite.release();
        assertEquals(1, g.idle());
    }
}
