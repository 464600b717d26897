package io.coffer.client;

import io.coffer.core.CreateMode;
import io.coffer.core.Credentials;
import io.coffer.core.DirListing;
import io.coffer.core.Entry;
import io.coffer.core.FileAttributes;
import io.coffer.core.FileHandle;
import io.coffer.core.FileSystemId;
import io.coffer.core.FileType;
import io.coffer.core.FsException;
import io.coffer.core.FsStats;
import io.coffer.core.LockRange;
import io.coffer.core.OpContext;
import io.coffer.core.ReadResult;
import io.coffer.core.SetAttributes;
import io.coffer.core.Vfs;
import io.coffer.core.WriteResult;
import io.coffer.core.XattrSetMode;
import io.coffer.core.rpc.Messages;
import io.coffer.core.rpc.Op;
import io.coffer.core.rpc.Protocol;
import io.coffer.core.rpc.RpcReply;
import io.coffer.core.rpc.Wire;
import io.coffer.core.status.IoException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The file system of a Coffer server, reached over the protocol: {@link Vfs} for blocking
 * callers, plus asynchronous READ, WRITE and COMMIT for the daemon's pipelines.
 */
public final class RemoteFs implements Vfs {
    private final RpcClient rpc;
    private final RemovesBehind removesBehind = new RemovesBehind();

    public RemoteFs(RpcClient rpc) {
        this.rpc = rpc;
    }

    public RpcClient rpc() {
        return rpc;
    }

    /** Direct, because the epoll transport copies any frame that has a heap part into a new direct buffer. */
    private static ByteBuf buf() {
        return PooledByteBufAllocator.DEFAULT.directBuffer(64);
    }

    private static Credentials creds(OpContext ctx) {
        return ctx == null ? Credentials.ROOT : ctx.credentials();
    }

    /** A blocking call, after every remove sent behind so far (see {@link #removeBehind}). */
    private RpcReply call(OpContext ctx, Op op, ByteBuf args) throws IOException {
        return call(ctx, op, args, true);
    }

    private RpcReply call(OpContext ctx, Op op, ByteBuf args, boolean afterRemoves) throws IOException {
        if (afterRemoves) {
            try {
                removesBehind.await();
            } catch (IOException e) {
                args.release();
                throw e;
            }
        }
        return rpc.callSync(op, creds(ctx), args);
    }

    private <T> T callRead(OpContext ctx, Op op, ByteBuf args, boolean afterRemoves, BodyReader<T> reader)
            throws IOException {
        RpcReply r = call(ctx, op, args, afterRemoves);
        try {
            return reader.read(r.body());
        } finally {
            r.release();
        }
    }

    private interface BodyReader<T> {
        T read(ByteBuf body) throws IOException;
    }

    private <T> T callRead(OpContext ctx, Op op, ByteBuf args, BodyReader<T> reader) throws IOException {
        RpcReply r = call(ctx, op, args);
        try {
            return reader.read(r.body());
        } finally {
            r.release();
        }
    }

    /**
     * Mount result: the export's root, whether the server serves it read-only, and whether it
     * squashes root (so root's SETATTRs may be refused where the kernel allowed them).
     */
    public record MountResult(Entry root, boolean readOnly, boolean rootSquashed) {
    }

    public MountResult mountExport(OpContext ctx, FileSystemId fs, String path) throws IOException {
        ByteBuf a = buf();
        new Messages.MountArgs(fs.value(), path).write(a);
        return callRead(ctx, Op.MOUNT, a, b -> {
            Entry e = Messages.readEntry(b);
            boolean ro = b.isReadable() && b.readByte() != 0;
            // Servers before this field did not say; assume the worst.
            boolean squashed = !b.isReadable() || b.readByte() != 0;
            return new MountResult(e, ro, squashed);
        });
    }

    @Override
    public Entry mount(OpContext ctx, FileSystemId fs, String path) throws IOException {
        return mountExport(ctx, fs, path).root();
    }

    /** A round trip that does nothing: liveness and lease renewal. */
    public void ping() throws IOException {
        // Not behind removes in flight: a lease renewal orders nothing.
        rpc.callSync(Op.NULL, Credentials.ROOT, Unpooled.EMPTY_BUFFER).release();
    }

    @Override
    public FileAttributes getattr(OpContext ctx, FileHandle h) throws IOException {
        ByteBuf a = buf();
        h.write(a);
        // Only the removes from this directory or of this inode can change what GETATTR returns.
        return callRead(ctx, Op.GETATTR, a, removesBehind.touches(h.inode()), Messages::attributes);
    }

    @Override
    public FileAttributes setattr(OpContext ctx, FileHandle h, SetAttributes change) throws IOException {
        ByteBuf a = buf();
        new Messages.SetattrArgs(h, change).write(a);
        return callRead(ctx, Op.SETATTR, a, Messages::attributes);
    }

    @Override
    public Entry lookup(OpContext ctx, FileHandle dir, String name) throws IOException {
        ByteBuf a = buf();
        new Messages.DirNameArgs(dir, name).write(a);
        // Only a remove of this very name can change what LOOKUP finds (a hard link's count aside,
        // which the caller's attribute cache tolerates for its timeout anyway).
        return callRead(ctx, Op.LOOKUP, a, removesBehind.touches(dir.inode(), name), Messages::readEntry);
    }

    @Override
    public String readlink(OpContext ctx, FileHandle h) throws IOException {
        ByteBuf a = buf();
        h.write(a);
        return callRead(ctx, Op.READLINK, a, b -> Wire.readString(b, Protocol.MAX_PATH_BYTES));
    }

    @Override
    public ReadResult read(OpContext ctx, FileHandle h, long offset, int count) throws IOException {
        return join(readAsync(creds(ctx), h, offset, count));
    }

    /** Asynchronous READ; the result's data belongs to the caller. */
    public CompletableFuture<ReadResult> readAsync(Credentials creds, FileHandle h, long offset, int count) {
        ByteBuf a = buf();
        new Messages.ReadArgs(h, offset, count).write(a);
        return rpc.call(Op.READ, creds, a).thenApply(r -> {
            try {
                RpcClient.check(r);
                ByteBuf b = r.body();
                boolean eof = b.readByte() != 0;
                FileAttributes attrs = Messages.attributes(b);
                int n = b.readInt();
                Wire.need(b, n);
                ByteBuf data = b.readRetainedSlice(n);
                r.release();
                return new ReadResult(data, eof, attrs);
            } catch (FsException e) {
                if (r.refCnt() > 0) {
                    r.release();
                }
                throw new CompletionException(e);
            }
        });
    }

    @Override
    public WriteResult write(OpContext ctx, FileHandle h, long offset, ByteBuf data, boolean stable) throws IOException {
        return join(writeAsync(creds(ctx), h, offset, data.retainedSlice(), stable));
    }

    /** Asynchronous WRITE; takes ownership of {@code data}. */
    public CompletableFuture<WriteResult> writeAsync(Credentials creds, FileHandle h, long offset, ByteBuf data,
            boolean stable) {
        // Direct like the data: a composite with one heap part would be copied whole (1 MiB) on its
        // way to the socket.
        ByteBuf header = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        new Messages.WriteArgs(h, offset, stable, data).writeHeader(header);
        ByteBuf args = PooledByteBufAllocator.DEFAULT.compositeBuffer(2).addComponents(true, header, data);
        return rpc.call(Op.WRITE, creds, args).thenApply(RemoteFs::writeResult);
    }

    private static WriteResult writeResult(RpcReply r) {
        try {
            RpcClient.check(r);
            ByteBuf b = r.body();
            Wire.need(b, 13);
            int count = b.readInt();
            boolean st = b.readByte() != 0;
            long verifier = b.readLong();
            FileAttributes attrs = Messages.attributes(b);
            r.release();
            return new WriteResult(count, st, verifier, attrs);
        } catch (FsException e) {
            if (r.refCnt() > 0) {
                r.release();
            }
            throw new CompletionException(e);
        }
    }

    /** Whether the server takes WRITE_SETATTR (protocol version 2). */
    public boolean writeSetattrSupported() {
        return rpc.protocolVersion() >= Protocol.VERSION_2;
    }

    @Override
    public WriteResult writeThenSetattr(OpContext ctx, FileHandle h, long offset, ByteBuf data, boolean stable,
            SetAttributes change) throws IOException {
        if (!writeSetattrSupported()) {
            return Vfs.super.writeThenSetattr(ctx, h, offset, data, stable, change);
        }
        return join(writeSetattrAsync(creds(ctx), h, offset, data.retainedSlice(), stable, change));
    }

    /** Asynchronous WRITE_SETATTR (protocol version 2 servers); takes ownership of {@code data}. */
    public CompletableFuture<WriteResult> writeSetattrAsync(Credentials creds, FileHandle h, long offset, ByteBuf data,
            boolean stable, SetAttributes change) {
        ByteBuf header = PooledByteBufAllocator.DEFAULT.directBuffer(96);
        new Messages.WriteSetattrArgs(h, offset, stable, change, data).writeHeader(header);
        ByteBuf args = PooledByteBufAllocator.DEFAULT.compositeBuffer(2).addComponents(true, header, data);
        return rpc.call(Op.WRITE_SETATTR, creds, args).thenApply(RemoteFs::writeResult);
    }

    @Override
    public long commit(OpContext ctx, FileHandle h) throws IOException {
        // An fsync makes everything before it durable, the removes answered early included.
        removesBehind.await();
        return join(commitAsync(creds(ctx), h));
    }

    public CompletableFuture<Long> commitAsync(Credentials creds, FileHandle h) {
        ByteBuf a = buf();
        h.write(a);
        return rpc.call(Op.COMMIT, creds, a).thenApply(r -> {
            try {
                RpcClient.check(r);
                long v = r.body().readLong();
                r.release();
                return v;
            } catch (FsException e) {
                throw new CompletionException(e);
            }
        });
    }

    private static <T> T join(CompletableFuture<T> f) throws IOException {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IoException(String.valueOf(e.getCause()));
        }
    }

    @Override
    public Entry create(OpContext ctx, FileHandle dir, String name, int mode, CreateMode how) throws IOException {
        return createIn(ctx, dir, name, mode, how).entry();
    }

    /**
     * What a CREATE, MKDIR or SYMLINK made, and the directory's attributes right after it when the
     * server said (version 2; null otherwise).
     */
    public record Made(Entry entry, FileAttributes dirAfter) {
    }

    private static Made readMade(ByteBuf b) throws FsException {
        Entry e = Messages.readEntry(b);
        return new Made(e, b.readableBytes() >= FileAttributes.WIRE_SIZE ? Messages.attributes(b) : null);
    }

    public Made createIn(OpContext ctx, FileHandle dir, String name, int mode, CreateMode how) throws IOException {
        ByteBuf a = buf();
        new Messages.CreateArgs(dir, name, mode, how).write(a);
        return callRead(ctx, Op.CREATE, a, RemoteFs::readMade);
    }

    @Override
    public Entry mkdir(OpContext ctx, FileHandle dir, String name, int mode) throws IOException {
        return mkdirIn(ctx, dir, name, mode).entry();
    }

    public Made mkdirIn(OpContext ctx, FileHandle dir, String name, int mode) throws IOException {
        ByteBuf a = buf();
        new Messages.MkdirArgs(dir, name, mode).write(a);
        return callRead(ctx, Op.MKDIR, a, RemoteFs::readMade);
    }

    @Override
    public Entry symlink(OpContext ctx, FileHandle dir, String name, String target) throws IOException {
        return symlinkIn(ctx, dir, name, target).entry();
    }

    public Made symlinkIn(OpContext ctx, FileHandle dir, String name, String target) throws IOException {
        ByteBuf a = buf();
        new Messages.SymlinkArgs(dir, name, target).write(a);
        return callRead(ctx, Op.SYMLINK, a, RemoteFs::readMade);
    }

    @Override
    public Entry mknod(OpContext ctx, FileHandle dir, String name, FileType type, int mode, long rdev)
            throws IOException {
        ByteBuf a = buf();
        new Messages.MknodArgs(dir, name, type, mode, rdev).write(a);
        return callRead(ctx, Op.MKNOD, a, Messages::readEntry);
    }

    @Override
    public Entry link(OpContext ctx, FileHandle target, FileHandle dir, String name) throws IOException {
        ByteBuf a = buf();
        new Messages.LinkArgs(target, dir, name).write(a);
        return callRead(ctx, Op.LINK, a, Messages::readEntry);
    }

    @Override
    public void remove(OpContext ctx, FileHandle dir, String name) throws IOException {
        ByteBuf a = buf();
        new Messages.DirNameArgs(dir, name).write(a);
        call(ctx, Op.REMOVE, a).release();
    }

    /**
     * Sends a REMOVE without waiting for its answer, for a caller that has already answered its
     * own caller (an unlink whose outcome the daemon could predict; {@code child} is the inode
     * the name leads to). Until the server answers, every other blocking call of this client
     * waits for it, except a LOOKUP of another name and a GETATTR of an inode other than the
     * directory or the child, and so does a READDIR of the directory: no later call can see the
     * name or race its removal; at most {@link RemovesBehind#MAX_IN_FLIGHT} are in
     * flight, and a further one waits here for a slot. {@code onAnswer} gets the server's
     * refusal (null when it removed the name) before any call waiting for this remove goes on.
     */
    public void removeBehind(Credentials creds, FileHandle dir, String name, long child,
            java.util.function.Consumer<Throwable> onAnswer) throws IOException {
        long seq = removesBehind.begin(dir.inode(), name, child);
        ByteBuf a = buf();
        new Messages.DirNameArgs(dir, name).write(a);
        rpc.call(Op.REMOVE, creds, a).whenComplete((r, e) -> {
            Throwable failure = e;
            if (r != null) {
                try {
                    RpcClient.check(r).release();
                } catch (FsException x) {
                    failure = x;
                }
            }
            if (failure instanceof CompletionException c && c.getCause() != null) {
                failure = c.getCause();
            }
            try {
                onAnswer.accept(failure);
            } finally {
                removesBehind.end(seq);
            }
        });
    }

    /** Waits until every remove sent by {@link #removeBehind} so far has been answered. */
    public void awaitRemoves() throws IOException {
        removesBehind.await();
    }

    @Override
    public void rmdir(OpContext ctx, FileHandle dir, String name) throws IOException {
        ByteBuf a = buf();
        new Messages.DirNameArgs(dir, name).write(a);
        call(ctx, Op.RMDIR, a).release();
    }

    @Override
    public void rename(OpContext ctx, FileHandle fromDir, String fromName, FileHandle toDir, String toName)
            throws IOException {
        ByteBuf a = buf();
        new Messages.RenameArgs(fromDir, fromName, toDir, toName).write(a);
        call(ctx, Op.RENAME, a).release();
    }

    @Override
    public DirListing readdir(OpContext ctx, FileHandle dir, long cookie, int maxEntries) throws IOException {
        return join(readdirAsync(ctx, dir, cookie, maxEntries));
    }

    /** Asynchronous READDIR. */
    public CompletableFuture<DirListing> readdirAsync(OpContext ctx, FileHandle dir, long cookie, int maxEntries) {
        if (removesBehind.touches(dir.inode())) {
            // A listing must not show a name this client has removed.
            return removesBehind.barrier().thenCompose(v -> listPage(ctx, dir, cookie, maxEntries));
        }
        return listPage(ctx, dir, cookie, maxEntries);
    }

    private CompletableFuture<DirListing> listPage(OpContext ctx, FileHandle dir, long cookie, int maxEntries) {
        ByteBuf a = buf();
        new Messages.ReaddirArgs(dir, cookie, maxEntries).write(a);
        return rpc.call(Op.READDIR, creds(ctx), a).thenApply(r -> {
            try {
                RpcClient.check(r);
            } catch (FsException e) {
                throw new CompletionException(e);
            }
            try {
                return Messages.readListing(r.body());
            } catch (IOException e) {
                throw new CompletionException(e);
            } finally {
                r.release();
            }
        });
    }

    @Override
    public FsStats fsstat(OpContext ctx, FileHandle h) throws IOException {
        ByteBuf a = buf();
        h.write(a);
        return callRead(ctx, Op.FSSTAT, a, Messages::readStats);
    }

    @Override
    public byte[] getxattr(OpContext ctx, FileHandle h, String name) throws IOException {
        ByteBuf a = buf();
        new Messages.XattrArgs(h, name).write(a);
        return callRead(ctx, Op.GETXATTR, a, b -> Wire.readBytes(b, Protocol.MAX_XATTR_VALUE));
    }

    @Override
    public List<String> listxattr(OpContext ctx, FileHandle h) throws IOException {
        ByteBuf a = buf();
        h.write(a);
        return callRead(ctx, Op.LISTXATTR, a, b -> {
            int n = b.readInt();
            List<String> names = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                names.add(Wire.readString(b, Protocol.MAX_NAME_BYTES));
            }
            return names;
        });
    }

    @Override
    public void setxattr(OpContext ctx, FileHandle h, String name, byte[] value, XattrSetMode mode) throws IOException {
        ByteBuf a = buf();
        new Messages.SetxattrArgs(h, name, value, mode).write(a);
        call(ctx, Op.SETXATTR, a).release();
    }

    @Override
    public void removexattr(OpContext ctx, FileHandle h, String name) throws IOException {
        ByteBuf a = buf();
        new Messages.XattrArgs(h, name).write(a);
        call(ctx, Op.REMOVEXATTR, a).release();
    }

    @Override
    public LockRange testLock(OpContext ctx, FileHandle h, LockRange lock) throws IOException {
        ByteBuf a = buf();
        new Messages.LockArgs(h, lock).write(a);
        return callRead(ctx, Op.TESTLOCK, a, b -> b.readByte() == 0 ? null : Messages.readLock(b));
    }

    @Override
    public void lock(OpContext ctx, FileHandle h, LockRange lock) throws IOException {
        ByteBuf a = buf();
        new Messages.LockArgs(h, lock).write(a);
        call(ctx, Op.LOCK, a).release();
    }

    /** Runs an administrative command; returns its JSON result. */
    public String admin(String command, String json) throws IOException {
        ByteBuf a = buf();
        new Messages.AdminArgs(command, json).write(a);
        return callRead(null, Op.ADMIN, a, b -> new String(Wire.readBytes(b, 1 << 20), StandardCharsets.UTF_8));
    }
}
