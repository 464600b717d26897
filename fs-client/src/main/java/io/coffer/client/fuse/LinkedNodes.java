package io.coffer.client.fuse;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;
import jnr.ffi.Pointer;

/**
 * The kernel's nodes for files with more than one name, so that a change to a file's link count
 * reaches all its names at once. libfuse 2 gives each name its own node (kernel inode), so after
 * {@code ln a b; ln a c} or {@code rm b} the kernel kept showing the other names' old link count
 * (and ctime) until their attributes expired: it does not know they are one file. The loop learns
 * which node is which inode from the entries libfuse answers (LOOKUP, CREATE, MKNOD, SYMLINK,
 * LINK, seen through a {@link HookedChannel}) for files with a link count above one, forgets a
 * node when the kernel does (FORGET), and when a LINK, UNLINK or RENAME changes a file's link
 * count drops the cached attributes of the file's other nodes before the request is answered.
 */
final class LinkedNodes {
    /** struct fuse_entry_out: nodeid, generation, entry_valid, attr_valid, their nsecs, then struct fuse_attr. */
    static final int ENTRY_ATTR = 40;
    /** In struct fuse_attr: ino at 0; size, blocks, atime, mtime, ctime, three nsecs; then mode, nlink. */
    static final int ATTR_MODE = 60;
    static final int ATTR_NLINK = 64;
    static final int ENTRY_OUT_MIN = ENTRY_ATTR + ATTR_NLINK + 4;
    private static final int S_IFMT = 0170000;
    private static final int S_IFDIR = 0040000;

    /**
     * Nodes followed at most (~2 MiB of the daemon's heap): past it, as in a tree of many hard
     * links the kernel keeps cached, further names refresh at the attribute timeout instead.
     */
    static final int MAX_NODES = 16_384;

    private final Map<Long, List<Long>> nodesByInode = new HashMap<>();
    private final Map<Long, Long> inodeByNode = new HashMap<>();
    private volatile boolean empty = true;
    /** Per request thread: the inode whose link count its request changed. */
    private final ThreadLocal<long[]> request = ThreadLocal.withInitial(() -> new long[1]);
    private volatile LongConsumer invalidate;

    /** Whether the reply to a request with this opcode is an entry this object should see. */
    static boolean answersWithEntry(int opcode) {
        return opcode == RawRequest.FUSE_LOOKUP || opcode == RawRequest.FUSE_CREATE || opcode == RawRequest.FUSE_MKNOD
                || opcode == RawRequest.FUSE_SYMLINK || opcode == RawRequest.FUSE_LINK;
    }

    /** Whether a request with this opcode may change an existing file's link count. */
    static boolean changesLinks(int opcode) {
        return opcode == RawRequest.FUSE_LINK || opcode == RawRequest.FUSE_UNLINK || opcode == RawRequest.FUSE_RENAME;
    }

    /** Sets how a node's cached attributes are dropped (the FUSE loop's {@code FUSE_NOTIFY_INVAL_INODE}). */
    void invalidateWith(LongConsumer invalidate) {
        this.invalidate = invalidate;
    }

    /**
     * The file system, on the thread processing a request, before it answers: the request changed
     * {@code inode}'s link count. The inode's other nodes are dropped now, before the answer, so
     * the caller's next stat of another name asks again.
     */
    void changed(long inode) {
        request.get()[0] = inode;
        LongConsumer inval = invalidate;
        if (inval == null || empty) {
            return;
        }
        long[] nodes;
        synchronized (this) {
            List<Long> known = nodesByInode.get(inode);
            if (known == null) {
                return;
            }
            nodes = known.stream().mapToLong(Long::longValue).toArray();
        }
        for (long n : nodes) {
            inval.accept(n);
        }
    }

    /** A reply (an iovec array) to a request of {@link #answersWithEntry}: a header and, on success, a struct fuse_entry_out. */
    void replied(Pointer iov, long count) {
        if (count < 2) {
            return;
        }
        Pointer header = iov.getPointer(0);
        Pointer entry = iov.getPointer(16);
        if (header == null || entry == null || header.getInt(4) != 0 || iov.getLong(24) < ENTRY_OUT_MIN) {
            return;
        }
        long node = entry.getLong(0);
        long inode = entry.getLong(ENTRY_ATTR);
        int mode = entry.getInt(ENTRY_ATTR + ATTR_MODE);
        int nlink = entry.getInt(ENTRY_ATTR + ATTR_NLINK);
        if (node == 0 || (mode & S_IFMT) == S_IFDIR) {
            return;
        }
        if (nlink > 1 || !empty) {
            entry(node, inode, nlink);
        }
    }

    /** The kernel holds {@code node} for {@code inode}, which has {@code nlink} names. */
    synchronized void entry(long node, long inode, int nlink) {
        Long was = inodeByNode.get(node);
        if (was != null && was == inode) {
            return;
        }
        if (was != null) {
            // Another client replaced the name: the node now stands for another file.
            drop(node, was);
        }
        if (nlink > 1 && inodeByNode.size() < MAX_NODES) {
            inodeByNode.put(node, inode);
            nodesByInode.computeIfAbsent(inode, k -> new ArrayList<>(2)).add(node);
            empty = false;
        }
    }

    /**
     * After a request of {@link #changesLinks} was answered: for a LINK ({@code linkedFrom}, the node
     * linked from, else 0), that node stands for a file with company now.
     */
    void answered(long linkedFrom) {
        long[] r = request.get();
        long inode = r[0];
        r[0] = 0;
        if (inode != 0 && linkedFrom != 0) {
            entry(linkedFrom, inode, 2);
        }
    }

    /** A FORGET or BATCH_FORGET request: the kernel dropped these nodes. */
    void forgets(Pointer buf, int len) {
        if (empty || len < RawRequest.IN_HEADER + 8) {
            return;
        }
        synchronized (this) {
            if (buf.getInt(4) == FuseLoop.FUSE_FORGET) {
                forget(buf.getLong(16));
            } else {
                // struct fuse_batch_forget_in: count, dummy; then count struct fuse_forget_one: nodeid, nlookup.
                int n = buf.getInt(RawRequest.IN_HEADER);
                for (int i = 0, at = RawRequest.IN_HEADER + 8; i < n && at + 16 <= len; i++, at += 16) {
                    forget(buf.getLong(at));
                }
            }
            empty = inodeByNode.isEmpty();
        }
    }

    private void forget(long node) {
        Long inode = inodeByNode.get(node);
        if (inode != null) {
            drop(node, inode);
        }
    }

    private void drop(long node, long inode) {
        inodeByNode.remove(node);
        List<Long> nodes = nodesByInode.get(inode);
        if (nodes != null) {
            nodes.remove(Long.valueOf(node));
            if (nodes.isEmpty()) {
                nodesByInode.remove(inode);
            }
        }
    }

    /** How many nodes are known (for tests). */
    synchronized int size() {
        return inodeByNode.size();
    }
}
