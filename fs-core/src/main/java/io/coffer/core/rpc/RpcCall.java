package io.coffer.core.rpc;

import io.coffer.core.Credentials;
import io.netty.buffer.ByteBuf;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.ReferenceCounted;

/** A call frame: xid, op, the caller's credentials and the op's arguments. Owns {@code body}. */
public final class RpcCall extends AbstractReferenceCounted {
    private final long xid;
    private final Op op;
    private final Credentials credentials;
    private final ByteBuf body;

    public RpcCall(long xid, Op op, Credentials credentials, ByteBuf body) {
        this.xid = xid;
        this.op = op;
        this.credentials = credentials;
        this.body = body;
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
        return op + "#" + xid;
    }
}
