package io.coffer.server.rpc;

import io.coffer.core.Credentials;
import io.coffer.core.DirListing;
import io.coffer.core.Entry;
import io.coffer.core.FileAttributes;
import io.coffer.core.FileHandle;
import io.coffer.core.FileSystemId;
import io.coffer.core.FsException;
import io.coffer.core.LockRange;
import io.coffer.core.OpContext;
import io.coffer.core.ReadResult;
import io.coffer.core.RequestId;
import io.coffer.core.Status;
import io.coffer.core.WriteResult;
import io.coffer.core.rpc.Messages;
import io.coffer.core.rpc.Messages.AdminArgs;
import io.coffer.core.rpc.Messages.CreateArgs;
import io.coffer.core.rpc.Messages.DirNameArgs;
import io.coffer.core.rpc.Messages.HandleArgs;
import io.coffer.core.rpc.Messages.HelloArgs;
import io.coffer.core.rpc.Messages.HelloResult;
import io.coffer.core.rpc.Messages.LinkArgs;
import io.coffer.core.rpc.Messages.LockArgs;
import io.coffer.core.rpc.Messages.MkdirArgs;
import io.coffer.core.rpc.Messages.MknodArgs;
import io.coffer.core.rpc.Messages.MountArgs;
import io.coffer.core.rpc.Messages.ReadArgs;
import io.coffer.core.rpc.Messages.ReaddirArgs;
import io.coffer.core.rpc.Messages.RenameArgs;
import io.coffer.core.rpc.Messages.SetattrArgs;
import io.coffer.core.rpc.Messages.SetxattrArgs;
import io.coffer.core.rpc.Messages.SymlinkArgs;
import io.coffer.core.rpc.Messages.WriteArgs;
import io.coffer.core.rpc.Messages.XattrArgs;
import io.coffer.core.rpc.Op;
import io.coffer.core.rpc.Protocol;
import io.coffer.core.rpc.RpcCall;
import io.coffer.core.rpc.RpcReply;
import io.coffer.core.rpc.Wire;
import io.coffer.core.status.AccessException;
import io.coffer.core.status.InvalException;
import io.coffer.core.status.NoSpaceException;
import io.coffer.core.status.NoSysException;
import io.coffer.core.status.ProtoNotSupportedException;
import io.coffer.core.status.ProtocolException;
import io.coffer.core.status.RoFsException;
import io.coffer.server.fs.DuplicateRequests;
import io.coffer.server.fs.StoreFileSystem;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Executes calls. This is the one place where exceptions become statuses: a typed
 * {@link FsException} becomes its status (logged at debug), a full disk ENOSPC (logged as a
 * warning), anything else is a server fault, logged with its stack and answered EIO. Non-idempotent calls pass through the
 * duplicate-request cache.
 */
public final class Dispatcher {
    private static final Logger log = LoggerFactory.getLogger(Dispatcher.class);

    private final StoreFileSystem fs;
    private final DuplicateRequests drc;
    private final AdminService admin;
    private final String serverName;
    private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
    /** Non-idempotent calls being executed, so a retransmission waits for the first answer. */
    private final Map<RequestId, CompletableFuture<byte[]>> inProgress = new ConcurrentHashMap<>();

    public Dispatcher(StoreFileSystem fs, DuplicateRequests drc, AdminService admin, String serverName) {
        this.fs = fs;
        this.drc = drc;
        this.admin = admin;
        this.serverName = serverName;
    }

    /** READs and unstable WRITEs of at most this many bytes are answered on the event loop. */
    static final int INLINE_IO_MAX = 16 << 10;

    /**
     * Whether a call is cheap and never waits for an fsync or a KMS, so that the connection's
     * event loop can answer it itself: metadata reads always; metadata changes unless each must
     * be fsynced before its reply ({@code --sync always}); READs and unstable WRITEs of up to
     * {@link #INLINE_IO_MAX} bytes; all only while the file system's data key is cached. Larger
     * data, stable writes, COMMIT, MOUNT and administration go to the worker pool. A call that
     * would wait for a file's data lock on the event loop goes to a worker too (see
     * {@link #dispatchWithoutWaiting}).
     */
    boolean runsInline(RpcCall call) {
        ByteBuf args = call.body();
        int at = args.readerIndex();
        boolean cheap = switch (call.op()) {
            case NULL -> true;
            case GETATTR, LOOKUP, READLINK, READDIR, FSSTAT, GETXATTR, LISTXATTR, TESTLOCK -> true;
            case SETATTR, CREATE, MKDIR, SYMLINK, MKNOD, REMOVE, RMDIR, RENAME, LINK, SETXATTR, REMOVEXATTR, LOCK ->
                    !fs.strictSync();
            // Random 4 KiB I/O: two thread hand-offs per call (to a worker and back) cost the server
            // over a quarter of its CPU per request (docs/performance.md, 2026-12-07).
            case READ -> args.readableBytes() >= READ_ARGS && args.getInt(at + READ_COUNT_AT) <= INLINE_IO_MAX;
            case WRITE -> args.readableBytes() >= WRITE_ARGS && args.getByte(at + WRITE_STABLE_AT) == 0
                    && args.getInt(at + WRITE_COUNT_AT) <= INLINE_IO_MAX && !fs.strictSync();
            default -> false;
        };
        if (!cheap || call.op() == Op.NULL) {
            return cheap;
        }
        // Every one of these starts with a file handle, whose first field is the file system id.
        // When that file system's data key has to be fetched (first use, cache expiry), the KMS
        // may be a network away: a worker waits for it, not the event loop.
        ByteBuf body = call.body();
        return body.readableBytes() >= 4 && fs.keyReady(body.getInt(body.readerIndex()));
    }

    // Where ReadArgs and WriteArgs keep their sizes: after a file handle and a u64 offset.
    private static final int READ_COUNT_AT = FileHandle.WIRE_SIZE + 8;
    private static final int READ_ARGS = READ_COUNT_AT + 4;
    private static final int WRITE_STABLE_AT = FileHandle.WIRE_SIZE + 8;
    private static final int WRITE_COUNT_AT = WRITE_STABLE_AT + 1;
    private static final int WRITE_ARGS = WRITE_COUNT_AT + 4;

    /**
     * Runs a call on the event loop, or returns null without effect when it would have to wait
     * for a file's data lock (held by a worker through a stable write's fsync, say): the caller
     * then hands it to a worker, with its arguments unread.
     */
    RpcReply dispatchWithoutWaiting(Session s, RpcCall call) {
        int at = call.body().readerIndex();
        try {
            return StoreFileSystem.withoutWaiting(() -> dispatch(s, call));
        } catch (StoreFileSystem.WouldWait e) {
            call.body().readerIndex(at);
            return null;
        }
    }

    RpcReply dispatch(Session s, RpcCall call) {
        Op op = call.op();
        MDC.put("client", String.valueOf(s.remote));
        MDC.put("xid", Long.toString(call.xid()));
        try {
            if (!s.helloDone && op != Op.HELLO && op != Op.NULL) {
                throw new ProtocolException("first call must be HELLO, got " + op);
            }
            if (s.clientId != null) {
                fs.lockTable().touch(s.clientId);
            }
            if (!op.idempotent() && s.clientId != null) {
                return dispatchOnce(s, call);
            }
            return ok(call, execute(s, call, null));
        } catch (StoreFileSystem.WouldWait e) {
            throw e;
        } catch (FsException e) {
            log.debug("{} {} -> {}: {}", s, op, e.status(), e.getMessage());
            return error(call, e.status(), e.getMessage());
        } catch (IOException | RuntimeException e) {
            if (NoSpaceException.isDiskFull(e)) {
                // The disk, not the server, is at fault, and every write says so while it lasts:
                // no stack, and the caller sees ENOSPC, as a local file system would answer.
                log.warn("{} {} refused: the server's disk is full ({})", s, op, e.getMessage());
                return error(call, Status.ENOSPC, "no space left on the server: " + e.getMessage());
            }
            log.error("{} {} failed with a server fault", s, op, e);
            return error(call, Status.EIO, "server fault: " + e);
        } finally {
            MDC.remove("client");
            MDC.remove("xid");
        }
    }

    private RpcReply dispatchOnce(Session s, RpcCall call) throws IOException {
        RequestId rid = new RequestId(s.clientId, call.xid());
        // A call sent once cannot have run before (version 2 clients mark the ones they send again),
        // so only retransmissions, and every call of a version 1 client, cost a lookup in the store.
        byte[] prior = call.retransmission() || s.version < Protocol.VERSION_2 ? drc.find(rid) : null;
        if (prior != null) {
            log.info("{} retransmitted {} xid {}: answering from the duplicate-request cache", s, call.op(), call.xid());
            return new RpcReply(call.xid(), Status.OK, Unpooled.wrappedBuffer(prior));
        }
        CompletableFuture<byte[]> mine = new CompletableFuture<>();
        CompletableFuture<byte[]> running = inProgress.putIfAbsent(rid, mine);
        if (running != null) {
            try {
                byte[] body = running.get();
                if (body != null) {
                    return new RpcReply(call.xid(), Status.OK, Unpooled.wrappedBuffer(body));
                }
                // The first attempt failed: errors are not cached, so run it again.
                return dispatchOnce(s, call);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new io.coffer.core.status.IoException("interrupted");
            } catch (ExecutionException e) {
                throw new io.coffer.core.status.IoException(String.valueOf(e.getCause()));
            }
        }
        try {
            ByteBuf body = execute(s, call, rid);
            byte[] copy = new byte[body.readableBytes()];
            body.getBytes(body.readerIndex(), copy);
            mine.complete(copy);
            return ok(call, body);
        } catch (IOException | RuntimeException e) {
            mine.complete(null);
            throw e;
        } finally {
            inProgress.remove(rid);
        }
    }

    private RpcReply ok(RpcCall call, ByteBuf body) {
        return new RpcReply(call.xid(), Status.OK, body);
    }

    private RpcReply error(RpcCall call, Status status, String message) {
        ByteBuf b = alloc.buffer();
        String m = message == null ? status.name() : message;
        if (m.length() > 1000) {
            m = m.substring(0, 1000);
        }
        Wire.writeString(b, m);
        return new RpcReply(call.xid(), status, b);
    }

    private OpContext context(Session s, FileHandle h, Credentials creds, RequestId rid, Op op) throws IOException {
        FileSystemId fsId = h.fileSystem();
        s.policy.checkMount(fsId, fs.transportRule(fsId));
        if (isWrite(op) && s.policy.readOnly(fsId)) {
            throw new RoFsException("file system " + fsId + " is mounted read-only for " + s.policy.principal());
        }
        Credentials c = s.policy.map(fsId, creds);
        return new OpContext(c, s.policy.principal(), rid, rid == null ? null : result -> encodeResult(op, result));
    }

    private static boolean isWrite(Op op) {
        return switch (op) {
            case SETATTR, WRITE, WRITE_SETATTR, CREATE, MKDIR, SYMLINK, MKNOD, REMOVE, RMDIR, RENAME, LINK, SETXATTR, REMOVEXATTR,
                    COMMIT -> true;
            default -> false;
        };
    }

    /** The reply body of a non-idempotent op's result, also what the duplicate-request cache keeps. */
    private byte[] encodeResult(Op op, Object result) {
        ByteBuf b = Unpooled.buffer();
        if (result instanceof Entry e) {
            Messages.writeEntry(b, e);
        } else if (result instanceof FileAttributes a) {
            a.write(b);
        } else if (result instanceof String str) {
            Wire.writeBytes(b, str.getBytes(StandardCharsets.UTF_8));
        }
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        return out;
    }

    /** The result of WRITE and WRITE_SETATTR: {@code u32 count | u8 stable | u64 verifier | attrs}. */
    private ByteBuf writeReply(WriteResult r) {
        ByteBuf b = alloc.buffer(13 + FileAttributes.WIRE_SIZE);
        b.writeInt(r.count());
        b.writeByte(r.stable() ? 1 : 0);
        b.writeLong(r.verifier());
        r.attributes().write(b);
        return b;
    }

    private ByteBuf bytes(byte[] b) {
        return Unpooled.wrappedBuffer(b);
    }

    /**
     * A made entry followed (version 2) by its directory's attributes after the call: a client
     * that knows a directory in full (it made it) keeps knowing it while the directory's change
     * attribute moves only by its own calls. Read after the call, so a change by someone else in
     * between shows as a gap; a reply replayed from the duplicate-request cache has no attributes.
     */
    private ByteBuf withDir(Session s, Credentials creds, FileHandle dir, byte[] entry) throws IOException {
        if (s.version < Protocol.VERSION_2) {
            return bytes(entry);
        }
        FileAttributes after = fs.getattr(context(s, dir, creds, null, Op.GETATTR), dir);
        ByteBuf b = alloc.buffer(entry.length + FileAttributes.WIRE_SIZE);
        b.writeBytes(entry);
        after.write(b);
        return b;
    }

    private ByteBuf execute(Session s, RpcCall call, RequestId rid) throws IOException {
        ByteBuf in = call.body();
        Credentials creds = call.credentials();
        Op op = call.op();
        switch (op) {
            case NULL:
                return Unpooled.EMPTY_BUFFER;
            case HELLO: {
                HelloArgs a = HelloArgs.read(in);
                if (a.minVersion() > Protocol.VERSION_MAX || a.maxVersion() < Protocol.VERSION_MIN) {
                    throw new ProtoNotSupportedException("client speaks protocol versions " + a.minVersion() + "-"
                            + a.maxVersion() + ", server " + Protocol.VERSION_MIN + "-" + Protocol.VERSION_MAX);
                }
                s.clientId = a.clientId();
                s.clientName = a.clientName();
                s.version = Math.min(a.maxVersion(), Protocol.VERSION_MAX);
                s.helloDone = true;
                fs.lockTable().touch(a.clientId());
                log.info("session {} from {} ({}) on {}", a.clientId(), s.remote, a.clientName(), s.transport);
                ByteBuf b = alloc.buffer();
                new HelloResult(Math.min(a.maxVersion(), Protocol.VERSION_MAX), fs.verifier(), serverName,
                        Protocol.MAX_IO).write(b);
                return b;
            }
            case MOUNT: {
                MountArgs a = MountArgs.read(in);
                FileSystemId id = new FileSystemId(a.fsId());
                s.policy.checkMount(id, fs.transportRule(id));
                Entry e = fs.mount(new OpContext(s.policy.map(id, creds), s.policy.principal(), null, null), id,
                        a.path());
                log.info("{} mounted {}:{}", s, id, a.path().isEmpty() ? "/" : a.path());
                ByteBuf b = alloc.buffer();
                Messages.writeEntry(b, e);
                b.writeByte(s.policy.readOnly(id) ? 1 : 0);
                // Whether root is squashed: a client may then not predict the answer to root's SETATTRs.
                b.writeByte(s.policy.map(id, Credentials.ROOT).isRoot() ? 0 : 1);
                return b;
            }
            case GETATTR: {
                HandleArgs a = HandleArgs.read(in);
                FileAttributes attrs = fs.getattr(context(s, a.handle(), creds, null, op), a.handle());
                ByteBuf b = alloc.buffer(FileAttributes.WIRE_SIZE);
                attrs.write(b);
                return b;
            }
            case SETATTR: {
                SetattrArgs a = SetattrArgs.read(in);
                return bytes(encodeResult(op, fs.setattr(context(s, a.handle(), creds, rid, op), a.handle(), a.change())));
            }
            case LOOKUP: {
                DirNameArgs a = DirNameArgs.read(in);
                Entry e = fs.lookup(context(s, a.dir(), creds, null, op), a.dir(), a.name());
                ByteBuf b = alloc.buffer(FileHandle.WIRE_SIZE + FileAttributes.WIRE_SIZE);
                Messages.writeEntry(b, e);
                return b;
            }
            case READLINK: {
                HandleArgs a = HandleArgs.read(in);
                String target = fs.readlink(context(s, a.handle(), creds, null, op), a.handle());
                ByteBuf b = alloc.buffer();
                Wire.writeString(b, target);
                return b;
            }
            case READ: {
                ReadArgs a = ReadArgs.read(in);
                ReadResult r = fs.read(context(s, a.handle(), creds, null, op), a.handle(), a.offset(), a.count());
                ByteBuf header = alloc.buffer(1 + FileAttributes.WIRE_SIZE + 4);
                header.writeByte(r.eof() ? 1 : 0);
                r.attributes().write(header);
                header.writeInt(r.data().readableBytes());
                return alloc.compositeBuffer(2).addComponents(true, header, r.data());
            }
            case WRITE: {
                WriteArgs a = WriteArgs.read(in);
                return writeReply(fs.write(context(s, a.handle(), creds, null, op), a.handle(), a.offset(), a.data(),
                        a.stable()));
            }
            case WRITE_SETATTR: {
                Messages.WriteSetattrArgs a = Messages.WriteSetattrArgs.read(in);
                return writeReply(fs.writeThenSetattr(context(s, a.handle(), creds, null, op), a.handle(), a.offset(),
                        a.data(), a.stable(), a.change()));
            }
            case CREATE: {
                CreateArgs a = CreateArgs.read(in);
                return withDir(s, creds, a.dir(), encodeResult(op, fs.create(context(s, a.dir(), creds, rid, op), a.dir(),
                        a.name(), a.mode(), a.how())));
            }
            case MKDIR: {
                MkdirArgs a = MkdirArgs.read(in);
                return withDir(s, creds, a.dir(), encodeResult(op, fs.mkdir(context(s, a.dir(), creds, rid, op), a.dir(),
                        a.name(), a.mode())));
            }
            case SYMLINK: {
                SymlinkArgs a = SymlinkArgs.read(in);
                return withDir(s, creds, a.dir(), encodeResult(op, fs.symlink(context(s, a.dir(), creds, rid, op), a.dir(),
                        a.name(), a.target())));
            }
            case MKNOD: {
                MknodArgs a = MknodArgs.read(in);
                return bytes(encodeResult(op, fs.mknod(context(s, a.dir(), creds, rid, op), a.dir(), a.name(), a.type(),
                        a.mode(), a.rdev())));
            }
            case LINK: {
                LinkArgs a = LinkArgs.read(in);
                return bytes(encodeResult(op, fs.link(context(s, a.dir(), creds, rid, op), a.target(), a.dir(), a.name())));
            }
            case REMOVE: {
                DirNameArgs a = DirNameArgs.read(in);
                fs.remove(context(s, a.dir(), creds, rid, op), a.dir(), a.name());
                return Unpooled.EMPTY_BUFFER;
            }
            case RMDIR: {
                DirNameArgs a = DirNameArgs.read(in);
                fs.rmdir(context(s, a.dir(), creds, rid, op), a.dir(), a.name());
                return Unpooled.EMPTY_BUFFER;
            }
            case RENAME: {
                RenameArgs a = RenameArgs.read(in);
                if (a.fromDir().fsId() != a.toDir().fsId()) {
                    throw new io.coffer.core.status.XdevException("rename across file systems");
                }
                fs.rename(context(s, a.fromDir(), creds, rid, op), a.fromDir(), a.fromName(), a.toDir(), a.toName());
                return Unpooled.EMPTY_BUFFER;
            }
            case READDIR: {
                ReaddirArgs a = ReaddirArgs.read(in);
                DirListing l = fs.readdir(context(s, a.dir(), creds, null, op), a.dir(), a.cookie(), a.maxEntries());
                ByteBuf b = alloc.buffer();
                Messages.writeListing(b, l);
                return b;
            }
            case FSSTAT: {
                HandleArgs a = HandleArgs.read(in);
                ByteBuf b = alloc.buffer(48);
                Messages.writeStats(b, fs.fsstat(context(s, a.handle(), creds, null, op), a.handle()));
                return b;
            }
            case COMMIT: {
                HandleArgs a = HandleArgs.read(in);
                long v = fs.commit(context(s, a.handle(), creds, null, op), a.handle());
                return alloc.buffer(8).writeLong(v);
            }
            case GETXATTR: {
                XattrArgs a = XattrArgs.read(in);
                byte[] v = fs.getxattr(context(s, a.handle(), creds, null, op), a.handle(), a.name());
                ByteBuf b = alloc.buffer(4 + v.length);
                Wire.writeBytes(b, v);
                return b;
            }
            case LISTXATTR: {
                HandleArgs a = HandleArgs.read(in);
                List<String> names = fs.listxattr(context(s, a.handle(), creds, null, op), a.handle());
                ByteBuf b = alloc.buffer();
                b.writeInt(names.size());
                for (String n : names) {
                    Wire.writeString(b, n);
                }
                return b;
            }
            case SETXATTR: {
                SetxattrArgs a = SetxattrArgs.read(in);
                fs.setxattr(context(s, a.handle(), creds, rid, op), a.handle(), a.name(), a.value(), a.mode());
                return Unpooled.EMPTY_BUFFER;
            }
            case REMOVEXATTR: {
                XattrArgs a = XattrArgs.read(in);
                fs.removexattr(context(s, a.handle(), creds, rid, op), a.handle(), a.name());
                return Unpooled.EMPTY_BUFFER;
            }
            case LOCK: {
                LockArgs a = LockArgs.read(in);
                fs.lock(context(s, a.handle(), creds, rid, op), a.handle(), a.lock());
                return Unpooled.EMPTY_BUFFER;
            }
            case TESTLOCK: {
                LockArgs a = LockArgs.read(in);
                LockRange c = fs.testLock(context(s, a.handle(), creds, new RequestId(s.clientId, call.xid()), op),
                        a.handle(), a.lock());
                ByteBuf b = alloc.buffer();
                b.writeByte(c == null ? 0 : 1);
                if (c != null) {
                    Messages.writeLock(b, c);
                }
                return b;
            }
            case ADMIN: {
                AdminArgs a = AdminArgs.read(in);
                s.policy.checkAdmin();
                if (admin == null) {
                    throw new NoSysException("administration is not served here");
                }
                String result = admin.handle(a.command(), a.json(), s.policy.principal());
                return bytes(encodeResult(op, result));
            }
            default:
                throw new InvalException("operation not served: " + op);
        }
    }

    /** For tests: whether a policy refusal surfaces as EACCES. */
    static boolean isAccessError(Throwable t) {
        return t instanceof AccessException;
    }
}
