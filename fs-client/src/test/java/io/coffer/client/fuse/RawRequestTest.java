package io.coffer.client.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import org.junit.jupiter.api.Test;

/** READ and WRITE requests as the kernel lays them out, and the replies written for them. */
class RawRequestTest {
    /** Replies as the device would get them, in the machine's byte order. */
    private final List<ByteBuf> sent = new ArrayList<>();
    private final RawRequest.Replies collect = (b, unique) ->
            sent.add(Unpooled.copiedBuffer(b.nioBuffer()).order(ByteOrder.nativeOrder()));

    private static Pointer header(int len, int opcode, long unique) {
        Pointer buf = Memory.allocateDirect(Runtime.getSystemRuntime(), Math.max(len, 128));
        buf.putInt(0, len);
        buf.putInt(4, opcode);
        buf.putLong(8, unique);
        buf.putLong(16, 5);
        buf.putInt(24, 1000);
        buf.putInt(28, 100);
        buf.putInt(32, 4242);
        return buf;
    }

    private static Pointer read(long unique, long fh, long offset, int size) {
        Pointer buf = header(80, RawRequest.FUSE_READ, unique);
        buf.putLong(40, fh);
        buf.putLong(48, offset);
        buf.putInt(56, size);
        return buf;
    }

    private static Pointer write(long unique, long fh, long offset, byte[] data) {
        int len = RawRequest.IN_HEADER + RawRequest.WRITE_IN + data.length;
        Pointer buf = header(len, RawRequest.FUSE_WRITE, unique);
        buf.putLong(40, fh);
        buf.putLong(48, offset);
        buf.putInt(56, data.length);
        buf.put(80, data, 0, data.length);
        return buf;
    }

    @Test
    void aReadIsParsedAndAnsweredWithHeaderAndData() {
        RawRequest r = RawRequest.parse(read(99, 7, 1 << 20, 4096), 80, collect);
        assertNotNull(r);
        assertEquals(RawRequest.FUSE_READ, r.opcode);
        assertEquals(99, r.unique);
        assertEquals(7, r.fh);
        assertEquals(1 << 20, r.offset);
        assertEquals(4096, r.size);
        assertEquals(1000, r.uid);
        assertEquals(100, r.gid);
        assertEquals(4242, r.pid);
        ByteBuf data = Unpooled.wrappedBuffer(new byte[] {9, 8, 7, 6, 5});
        r.reply(data, 1, 3);
        assertEquals(1, sent.size());
        ByteBuf b = sent.get(0);
        assertEquals(16 + 3, b.getInt(0), "length: header and data");
        assertEquals(0, b.getInt(4), "no error");
        assertEquals(99, b.getLong(8));
        assertArrayEquals(new byte[] {8, 7, 6}, new byte[] {b.getByte(16), b.getByte(17), b.getByte(18)});
    }

    @Test
    void aReadNeverAnswersWithMoreThanWasAskedFor() {
        RawRequest r = RawRequest.parse(read(3, 1, 0, 2), 80, collect);
        r.reply(Unpooled.wrappedBuffer(new byte[] {1, 2, 3, 4}), 0, 4);
        assertEquals(18, sent.get(0).getInt(0));
    }

    @Test
    void anErrorIsAHeaderWithTheNegatedErrno() {
        RawRequest r = RawRequest.parse(read(12, 1, 0, 4096), 80, collect);
        r.error(5);
        ByteBuf b = sent.get(0);
        assertEquals(16, b.readableBytes());
        assertEquals(16, b.getInt(0));
        assertEquals(-5, b.getInt(4));
        assertEquals(12, b.getLong(8));
    }

    @Test
    void aSecondAnswerIsDropped() {
        RawRequest r = RawRequest.parse(read(12, 1, 0, 4096), 80, collect);
        r.error(5);
        r.reply(Unpooled.wrappedBuffer(new byte[4]), 0, 4);
        r.written(4);
        assertEquals(1, sent.size(), "the kernel matches replies by unique: one per request");
    }

    @Test
    void aWriteCarriesItsDataAndIsAnsweredWithTheCountTaken() {
        byte[] data = {1, 2, 3, 4, 5, 6};
        Pointer buf = write(55, 8, 4096, data);
        RawRequest r = RawRequest.parse(buf, 80 + data.length, collect);
        assertNotNull(r);
        assertEquals(RawRequest.FUSE_WRITE, r.opcode);
        assertEquals(8, r.fh);
        assertEquals(4096, r.offset);
        assertEquals(6, r.size);
        byte[] got = new byte[6];
        r.data.get(0, got, 0, 6);
        assertArrayEquals(data, got);
        r.written(6);
        ByteBuf b = sent.get(0);
        assertEquals(24, b.getInt(0), "header and struct fuse_write_out");
        assertEquals(0, b.getInt(4));
        assertEquals(55, b.getLong(8));
        assertEquals(6, b.getInt(16));
    }

    @Test
    void aWriteNotLaidOutAsSinceProtocol79IsLeftToLibfuse() {
        byte[] data = new byte[10];
        Pointer buf = write(1, 1, 0, data);
        // The 24-byte write_in of older minors: the request is 16 bytes shorter than 7.9's layout.
        buf.putInt(0, 40 + 24 + 10);
        assertNull(RawRequest.parse(buf, 40 + 24 + 10, collect));
    }

    @Test
    void otherRequestsAndTruncatedOnesAreLeftToLibfuse() {
        // LOOKUP, GETATTR, OPEN, FLUSH, RELEASE, CREATE
        for (int op : new int[] {1, 3, 14, 25, 18, 35}) {
            assertNull(RawRequest.parse(header(80, op, 1), 80, collect), "opcode " + op);
        }
        assertNull(RawRequest.parse(read(1, 1, 0, 4096), 50, collect), "shorter than a READ's arguments");
        assertNull(RawRequest.parse(read(1, 1, 0, -1), 80, collect), "a negative size");
    }
}
