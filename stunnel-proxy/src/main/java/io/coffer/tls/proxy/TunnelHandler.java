package io.coffer.tls.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;

/** Turns one channel's events into calls on its {@link Tunnel}; holds no state of its own. */
final class TunnelHandler extends ChannelInboundHandlerAdapter {
    private final Tunnel tunnel;
    private final Tunnel.Side side;

    TunnelHandler(Tunnel tunnel, Tunnel.Side side) {
        this.tunnel = tunnel;
        this.side = side;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (side == Tunnel.Side.ACCEPT) {
            tunnel.acceptedActive();
        }
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        tunnel.read(side, msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            tunnel.inputEnded(side, "FIN");
        } else if (evt instanceof SslCloseCompletionEvent) {
            SslCloseCompletionEvent e = (SslCloseCompletionEvent) evt;
            if (e.isSuccess()) {
                tunnel.inputEnded(side, "close_notify");
            } else {
                tunnel.failed(side, e.cause());
            }
        } else if (evt instanceof IdleStateEvent) {
            tunnel.idle(side);
        }
        // Other events (handshake completion, input-shutdown-read-complete) need nothing from us.
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        tunnel.inactive(side);
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        tunnel.failed(side, cause);
    }
}
