package io.coffer.core.rpc;

import io.coffer.core.Credentials;
import io.netty.buffer.ByteBuf;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.ReferenceCounted;

/**
 * A call frame: xid, op, the caller's credentials and the op's arguments. Owns {@code body}.
 * A retransmission (version 2) is a call the client has sent before, on a connection that was
 * lost: only those can have run already, so only those need the duplicate-request cache.
 */
public final class RpcCall extends AbstractReferenceCounted {
    /** Bit of the op field that marks a retransmission (protocol version 2). */
    public static final int RETRANSMISSION_BIT = 0x8000;

    private final long xid;
    private final Op op;
    private final Credentials credentials;
    private final ByteBuf body;
    private final boolean retransmission;

    public RpcCall(long xid, Op op, Credentials credentials, ByteBuf body) {
        this(xid, op, credentials, body, false);
    }

    public RpcCall(long xid, Op op, Credentials credentials, ByteBuf body, boolean retransmission) {
        this.xid = xid;
        this.op = op;
        this.credentials = credentials;
        this.body = body;
        this.retransmission = retransmission;
    }

    public boolean retransmission() {
        return retransmission;
    }

    public long xid() {
        return xid;
    }

    public Op op() {
        return op;
    }

    public Credentials credentials() {
        return credentials;
    }

    public ByteBuf body() {
        return body;
    }

    @Override
    protected void deallocate() {
        body.release();
    }

    @Override
    public ReferenceCounted touch(Object hint) {
        body.touch(hint);
        return this;
    }

    @Override
    public String toString() {
        return op + "#" + xid + (retransmission ? " (retransmitted)" : "");
    }
}
