package io.coffer.core.rpc;

import io.coffer.core.Status;
import io.netty.buffer.ByteBuf;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.ReferenceCounted;

/**
 * A reply frame: the xid it answers, a status (an errno) and the result. For a non-OK status the
 * body is a human-readable reason. Owns {@code body}.
 */
public final class RpcReply extends AbstractReferenceCounted {
    private final long xid;
    private final Status status;
    private final ByteBuf body;

    public RpcReply(long xid, Status status, ByteBuf body) {
        this.xid = xid;
        this.status = status;
        this.body = body;
    }

    public long xid() {
        return xid;
    }

    public Status status() {
        return status;
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
        return "reply#" + xid + " " + status;
    }
}
