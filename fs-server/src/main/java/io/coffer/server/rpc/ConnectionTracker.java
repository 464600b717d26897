package io.coffer.server.rpc;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;

/** Keeps the open connections so the server can close them all at shutdown. */
final class ConnectionTracker {
    final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

    void opened(Channel ch) {
        channels.add(ch);
    }

    void closed(Channel ch) {
        channels.remove(ch);
    }

    int count() {
        return channels.size();
    }
}
