package io.coffer.client;

import io.coffer.client.fuse.CofferFuse;
import io.coffer.core.MountOptions;
import io.coffer.core.OpContext;
import io.coffer.core.status.InvalException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client daemon of one mount: connects, resolves the export, mounts through FUSE, reports
 * readiness once the mount is visible in /proc/self/mountinfo, and runs until unmounted.
 */
public final class MountDaemon {
    private static final Logger log = LoggerFactory.getLogger(MountDaemon.class);
    /** Direct memory kept for read-ahead (16 MiB), network buffers and the allocator's chunks. */
    private static final long DIRECT_RESERVE = 40L << 20;

    /**
     * The write-behind budget: {@code writebuf=} MiB, but never more than the JVM's direct memory
     * can hold next to read-ahead and network buffers, or writes would fail with EIO when the
     * allocator runs out instead of waiting for commits.
     */
    static int writeBudget(int writeBufferMiB) {
        long wanted = (long) writeBufferMiB << 20;
        long fits = io.netty.util.internal.PlatformDependent.maxDirectMemory() - DIRECT_RESERVE;
        if (wanted <= fits) {
            return (int) wanted;
        }
        int capped = (int) Math.max(4L << 20, fits);
        log.warn("writebuf={} MiB does not fit in this daemon's {} MiB of direct memory; using {} MiB (raise "
                + "-XX:MaxDirectMemorySize through COFFER_JAVA_OPTS for more)", writeBufferMiB,
                io.netty.util.internal.PlatformDependent.maxDirectMemory() >> 20, capped >> 20);
        return capped;
    }
    /** Requests served at once: enough for parallel readers and writers; idle ones cost a blocked read(2). */
    private static final int FUSE_THREADS = 12;

    private MountDaemon() {
    }

    /** Where to connect: host and port, and what to put in front of the codec (TLS), if anything. */
    public record Target(String host, int port, RpcClient.ChannelCustomizer customizer, String description) {
    }

    /** Callbacks of a running mount. */
    public interface Listener {
        /** The mount is visible and usable. */
        void ready();
    }

    /**
     * Mounts and blocks until the file system is unmounted.
     *
     * @throws IOException with a message a user can act on when the mount cannot be made
     */
    public static void run(MountOptions.Source source, Path mountpoint, MountOptions opts, Target target,
            Listener listener) throws IOException {
        Path mp = mountpoint.toAbsolutePath().normalize();
        if (!Files.isDirectory(mp)) {
            throw new InvalException("mount point " + mp + " does not exist or is not a directory");
        }
        if (isMounted(mp)) {
            throw new io.coffer.core.status.BusyException("something is already mounted on " + mp);
        }
        RpcClient.Options ro = new RpcClient.Options(target.host(), target.port(), opts.connections, !opts.soft,
                opts.timeoSeconds, target.customizer(), "mount " + source + " on " + mp);
        RpcClient rpc = new RpcClient(ro);
        ScheduledExecutorService pinger = null;
        try {
            rpc.connect(Math.min(30_000L, opts.timeoSeconds * 1000L));
            RemoteFs fs = new RemoteFs(rpc);
            RemoteFs.MountResult export = fs.mountExport(OpContext.root(), source.fs(), source.path());
            boolean readOnly = opts.readOnly || export.readOnly();
            CofferFuse fuse = new CofferFuse(fs, export.root(), new CofferFuse.Settings(opts.attrTimeoutSeconds * 1000L,
                    opts.attrTimeoutSeconds * 1000L, writeBudget(opts.writeBufferMiB), readOnly, !export.rootSquashed(),
                    !export.rootSquashed() && !opts.kernelFlags.contains("sync") && !opts.kernelFlags.contains("dirsync")));
            List<String> args = fuseArgs(source, opts, readOnly);
            log.info("mounting {} on {} via {} with {}", source, mp, target.description(), args);
            CompletableFuture<Void> done = new CompletableFuture<>();
            Thread loop = new Thread(() -> {
                try {
                    fuse.serve(mp, args, FUSE_THREADS);
                    done.complete(null);
                } catch (Throwable t) {
                    done.completeExceptionally(t);
                }
            }, "fuse-loop");
            loop.start();
            long deadline = System.currentTimeMillis() + 20_000;
            while (!isMounted(mp)) {
                if (done.isDone()) {
                    throw new io.coffer.core.status.IoException("FUSE mount of " + mp + " failed: " + failure(done));
                }
                if (System.currentTimeMillis() > deadline) {
                    try {
                        new ProcessBuilder("fusermount", "-u", "-z", mp.toString()).start().waitFor(10, TimeUnit.SECONDS);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                    }
                    throw new io.coffer.core.status.IoException("FUSE mount of " + mp + " did not appear within 20 s");
                }
                sleep(5);
            }
            log.info("mounted {} on {}", source, mp);
            // Keeps the session's lock lease alive while idle, sends writes that have waited, gives back idle write buffers.
            pinger = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "lease");
                t.setDaemon(true);
                return t;
            });
            pinger.scheduleWithFixedDelay(() -> {
                try {
                    fs.ping();
                } catch (IOException | RuntimeException e) {
                    log.debug("lease renewal failed: {}", e.toString());
                }
            }, 30, 30, TimeUnit.SECONDS);
            pinger.scheduleWithFixedDelay(() -> {
                try {
                    fuse.trimBuffers();
                } catch (RuntimeException e) {
                    // An exception would end the schedule, and waiting writes would stay unsent.
                    log.warn("write-back of waiting writes failed: {}", e.toString());
                }
            }, 2, 2, TimeUnit.SECONDS);
            listener.ready();
            try {
                done.join();
            } catch (RuntimeException e) {
                log.error("FUSE loop ended with an error", e);
            }
            fuse.flushAll();
            log.info("unmounted {} from {}", source, mp);
        } finally {
            if (pinger != null) {
                pinger.shutdownNow();
            }
            rpc.close();
        }
    }

    private static String failure(CompletableFuture<Void> f) {
        try {
            f.join();
            return "the FUSE loop exited at once (is /dev/fuse usable and libfuse2 installed?)";
        } catch (RuntimeException e) {
            Throwable c = e.getCause() != null ? e.getCause() : e;
            return c.getMessage();
        }
    }

    static List<String> fuseArgs(MountOptions.Source source, MountOptions opts, boolean readOnly) {
        List<String> o = new ArrayList<>();
        o.add("fsname=" + source);
        o.add("subtype=coffer");
        o.add("big_writes");
        o.add("max_write=131072");
        o.add("max_read=131072");
        o.add("max_readahead=1048576");
        o.add("use_ino");
        o.add("default_permissions");
        o.add("attr_timeout=" + opts.attrTimeoutSeconds);
        o.add("entry_timeout=" + opts.attrTimeoutSeconds);
        o.add("negative_timeout=0");
        if (opts.allowOther && isRoot()) {
            o.add("allow_other");
        }
        if (readOnly) {
            o.add("ro");
        }
        for (String f : opts.kernelFlags) {
            if (f.equals("nosuid") || f.equals("nodev") || f.equals("noexec") || f.equals("suid") || f.equals("dev")
                    || f.equals("exec") || f.equals("sync") || f.equals("async") || f.equals("noatime")
                    || f.equals("atime") || f.equals("relatime") || f.equals("dirsync")) {
                o.add(f);
            }
        }
        List<String> args = new ArrayList<>();
        args.add("-o");
        args.add(String.join(",", o));
        return args;
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** Whether {@code mp} is a mount point now, by /proc/self/mountinfo. */
    public static boolean isMounted(Path mp) {
        return io.coffer.core.MountInfo.isMounted(mp);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
