package io.coffer.bench.meta;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * Compares candidate metadata engines on the operations the server's durability contract
 * makes expensive. All engines run in the same process, alternating order run by run, so
 * that drift of the machine (other tenants, page cache) spreads over all of them alike.
 */
public final class MetaEngineBench {
    private static final long CACHE_BYTES = 256L << 20;
    private static final int INODE_RECORD = 160;
    private static final int CHUNK_REF = 40;
    private static final int CHUNK_BATCH = 64;
    private static final int[] THREADS = {1, 4, 16};

    private final Path root;
    private final int runs;
    private final double seconds;
    private final int keys;
    private final int dirEntries;
    private final List<String> engines;
    /** metric -> engine -> samples, in insertion order so the table reads top-down. */
    private final Map<String, Map<String, List<Double>>> samples = new LinkedHashMap<>();
    /** What else the machine was doing just before each engine ran; other tenants skew fsync-bound numbers. */
    private final List<String> quietChecks = new ArrayList<>();

    private MetaEngineBench(Path root, int runs, double seconds, int keys, int dirEntries, List<String> engines) {
        this.root = root;
        this.runs = runs;
        this.seconds = seconds;
        this.keys = keys;
        this.dirEntries = dirEntries;
        this.engines = engines;
    }

    public static void main(String[] args) throws Exception {
        Path dir = Paths.get(System.getProperty("java.io.tmpdir"));
        int runs = 3;
        double seconds = 3.0;
        int keys = 1_000_000;
        int dirEntries = 10_000;
        List<String> engines = List.of("rocksdb", "sqlite", "mvstore");
        Path json = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--dir" -> dir = Paths.get(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--keys" -> keys = Integer.parseInt(args[++i]);
                case "--dir-entries" -> dirEntries = Integer.parseInt(args[++i]);
                case "--engines" -> engines = List.of(args[++i].split(","));
                case "--json" -> json = Paths.get(args[++i]);
                default -> {
                    System.err.println("usage: MetaEngineBench [--dir D] [--runs N] [--seconds S] [--keys N]"
                            + " [--dir-entries N] [--engines rocksdb,sqlite,mvstore] [--json FILE]");
                    System.exit(2);
                }
            }
        }
        Path work = Files.createTempDirectory(dir, "meta-engines-");
        try {
            MetaEngineBench bench = new MetaEngineBench(work, runs, seconds, keys, dirEntries, engines);
            double fsyncUs = fsyncMicros(work);
            System.out.printf(Locale.ROOT, "# fsync of a 4 KiB append on %s: median %.0f us%n", dir, fsyncUs);
            bench.runAll();
            String table = bench.table();
            System.out.println();
            System.out.print(table);
            if (json != null) {
                Files.writeString(json, bench.json(fsyncUs, String.join(" ", args)));
                System.out.println("\n# raw samples: " + json);
            }
        } finally {
            deleteTree(work);
        }
    }

    private void runAll() throws Exception {
        for (int run = 0; run < runs; run++) {
            // Rotate the order: run 1 A B C, run 2 B C A, run 3 C A B.
            List<String> order = new ArrayList<>();
            for (int i = 0; i < engines.size(); i++) {
                order.add(engines.get((i + run) % engines.size()));
            }
            System.out.println("# run " + (run + 1) + " order " + order);
            for (String engine : order) {
                String quiet = String.format(Locale.ROOT, "run %d %s: cpu busy %.0f%%, load %s",
                        run + 1, engine, cpuBusyPercent(), loadAverage());
                quietChecks.add(quiet);
                System.out.println("# " + quiet);
                runEngine(engine, run);
            }
        }
    }

    private MetaEngine open(String engine, Path dir) throws Exception {
        return switch (engine) {
            case "rocksdb" -> new RocksEngine(dir, CACHE_BYTES);
            case "sqlite" -> new SqliteEngine(dir, CACHE_BYTES);
            case "mvstore" -> new MvStoreEngine(dir, CACHE_BYTES);
            default -> throw new IllegalArgumentException("unknown engine " + engine);
        };
    }

    private void runEngine(String engine, int run) throws Exception {
        Path dir = Files.createDirectories(root.resolve(engine + "-" + run));
        try (MetaEngine db = open(engine, dir)) {
            // (b) first, so that the durable creates below run against a store that already
            // holds a million keys, as a server's would.
            double putRate = chunkRefPuts(db);
            record(engine, "chunk-ref puts/s (64 per commit, one sync at end)", putRate);
            double readRate = pointReads(db);
            record(engine, "point reads/s, warm, " + keys + " keys, 1 thread", readRate);
            double scanMs = prefixScan(db);
            record(engine, "prefix scan of a " + dirEntries + "-entry directory (ms)", scanMs);
            for (int t : THREADS) {
                double rate = durableCreates(db::commitDurably, t);
                record(engine, "durable creates/s, " + t + " thread" + (t > 1 ? "s" : ""), rate);
            }
            try (GroupCommitter gc = new GroupCommitter(db)) {
                for (int t : THREADS) {
                    double rate = durableCreates(gc::commitDurably, t);
                    record(engine, "durable creates/s, " + t + " thread" + (t > 1 ? "s" : "")
                            + ", app-level group commit", rate);
                }
            }
        }
        record(engine, "store size on disk at close (MiB)", treeSize(dir) / 1048576.0);
        deleteTree(dir);
    }

    private void record(String engine, String metric, double value) {
        samples.computeIfAbsent(metric, m -> new LinkedHashMap<>())
                .computeIfAbsent(engine, e -> new ArrayList<>()).add(value);
        System.out.printf(Locale.ROOT, "#   %-8s %-70s %12.1f%n", engine, metric, value);
    }

    private double chunkRefPuts(MetaEngine db) throws Exception {
        SplittableRandom rnd = new SplittableRandom(1);
        List<Put> batch = new ArrayList<>(CHUNK_BATCH);
        long start = System.nanoTime();
        for (int i = 0; i < keys; i++) {
            // Inode numbers are handed out in increasing order, and a file's chunks arrive in order.
            batch.add(new Put(Keys.chunk(i / CHUNK_BATCH, i % CHUNK_BATCH), randomBytes(rnd, CHUNK_REF)));
            if (batch.size() == CHUNK_BATCH) {
                db.commitNoSync(batch);
                batch = new ArrayList<>(CHUNK_BATCH);
            }
        }
        if (!batch.isEmpty()) {
            db.commitNoSync(batch);
        }
        db.sync();
        return keys / seconds(start);
    }

    private double pointReads(MetaEngine db) throws Exception {
        SplittableRandom rnd = new SplittableRandom(2);
        long files = (keys + CHUNK_BATCH - 1) / CHUNK_BATCH;
        // Warm = every page touched once, then a JIT warm-up; then the measured window.
        db.scanPrefix(new byte[] {Keys.CHUNK});
        long warmEnd = System.nanoTime() + 1_000_000_000L;
        while (System.nanoTime() < warmEnd) {
            readOne(db, rnd, files);
        }
        long n = 0;
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        while (true) {
            for (int i = 0; i < 256; i++) {
                readOne(db, rnd, files);
            }
            n += 256;
            if (System.nanoTime() >= end) {
                break;
            }
        }
        return n / seconds(start);
    }

    private void readOne(MetaEngine db, SplittableRandom rnd, long files) throws Exception {
        long i = rnd.nextLong(keys);
        if (db.get(Keys.chunk(i / CHUNK_BATCH, i % CHUNK_BATCH)) == null) {
            throw new IllegalStateException("missing key " + i + " of " + files + " files");
        }
    }

    private double prefixScan(MetaEngine db) throws Exception {
        long parent = 1L << 40;
        SplittableRandom rnd = new SplittableRandom(3);
        List<Put> batch = new ArrayList<>();
        for (int i = 0; i < dirEntries; i++) {
            long ino = parent + 1 + i;
            byte[] name = String.format(Locale.ROOT, "entry-%08d-%s.dat", i, Long.toHexString(rnd.nextLong()))
                    .getBytes(StandardCharsets.UTF_8);
            batch.add(new Put(Keys.readdir(parent, i + 1), ByteBuffer.allocate(8 + name.length).putLong(ino).put(name).array()));
            if (batch.size() == 1000) {
                db.commitNoSync(batch);
                batch = new ArrayList<>();
            }
        }
        db.commitNoSync(batch);
        db.sync();
        byte[] prefix = Keys.readdirPrefix(parent);
        double[] ms = new double[7];
        for (int i = 0; i < ms.length; i++) {
            long start = System.nanoTime();
            long[] seen = db.scanPrefix(prefix);
            ms[i] = (System.nanoTime() - start) / 1e6;
            if (seen[0] != dirEntries) {
                throw new IllegalStateException("scan saw " + seen[0] + " entries, expected " + dirEntries);
            }
        }
        // The first two are warm-up (JIT, statement preparation); the median of the rest is reported.
        return median(Arrays.stream(ms, 2, ms.length).boxed().toList());
    }

    @FunctionalInterface
    private interface DurableCommit {
        void commit(List<Put> puts) throws Exception;
    }

    private static final AtomicLong NEXT_INODE = new AtomicLong(1L << 48);

    /** One create = new inode record, its name entry, its readdir entry, the parent's new mtime/size. */
    private double durableCreates(DurableCommit commit, int threads) throws Exception {
        long warmNs = 500_000_000L;
        CountDownLatch ready = new CountDownLatch(threads);
        CountDownLatch go = new CountDownLatch(1);
        AtomicLong counted = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long[] window = new long[2];
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            // Each thread creates in its own directory, as independent clients would: creates in
            // one directory serialize on the parent's record in any engine.
            long parent = (1L << 56) + NEXT_INODE.incrementAndGet();
            SplittableRandom rnd = new SplittableRandom(parent);
            Thread w = new Thread(() -> {
                ready.countDown();
                try {
                    go.await();
                    long mine = 0;
                    while (true) {
                        long ino = NEXT_INODE.incrementAndGet();
                        String name = "file-" + ino + ".txt";
                        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
                        List<Put> tx = List.of(
                                new Put(Keys.inode(ino), randomBytes(rnd, INODE_RECORD)),
                                new Put(Keys.dentry(parent, name), ByteBuffer.allocate(9).putLong(ino).put((byte) 1).array()),
                                new Put(Keys.readdir(parent, ino), ByteBuffer.allocate(8 + nameBytes.length).putLong(ino).put(nameBytes).array()),
                                new Put(Keys.inode(parent), randomBytes(rnd, INODE_RECORD)));
                        commit.commit(tx);
                        long now = System.nanoTime();
                        if (now >= window[1]) {
                            break;
                        }
                        if (now >= window[0]) {
                            mine++;
                        }
                    }
                    counted.addAndGet(mine);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "create-" + t);
            workers.add(w);
            w.start();
        }
        ready.await();
        long now = System.nanoTime();
        window[0] = now + warmNs;
        window[1] = window[0] + (long) (seconds * 1e9);
        go.countDown();
        for (Thread w : workers) {
            w.join();
        }
        if (failure.get() != null) {
            throw new IllegalStateException("create worker failed", failure.get());
        }
        return counted.get() / seconds;
    }

    private static byte[] randomBytes(SplittableRandom rnd, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i += 8) {
            long v = rnd.nextLong();
            for (int j = 0; j < 8 && i + j < n; j++) {
                b[i + j] = (byte) (v >>> (8 * j));
            }
        }
        return b;
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    static double median(List<Double> values) {
        List<Double> s = new ArrayList<>(values);
        s.sort(Comparator.naturalOrder());
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    /** What one durable write costs on this disk; the ceiling for anything without group commit. */
    private static double fsyncMicros(Path dir) throws IOException {
        Path f = dir.resolve("fsync-probe");
        List<Double> us = new ArrayList<>();
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(4096);
            for (int i = 0; i < 300; i++) {
                buf.clear();
                ch.write(buf);
                long start = System.nanoTime();
                ch.force(false);
                us.add((System.nanoTime() - start) / 1e3);
            }
        }
        Files.delete(f);
        return median(us);
    }

    private String table() {
        StringBuilder sb = new StringBuilder();
        sb.append("| metric (median of ").append(runs).append(") |");
        engines.forEach(e -> sb.append(' ').append(e).append(" |"));
        sb.append("\n|---|");
        engines.forEach(e -> sb.append("---:|"));
        sb.append('\n');
        for (var metric : samples.entrySet()) {
            sb.append("| ").append(metric.getKey()).append(" |");
            for (String e : engines) {
                List<Double> v = metric.getValue().get(e);
                sb.append(' ').append(v == null ? "n/a" : format(median(v))).append(" |");
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private static String format(double v) {
        return v >= 100 ? String.format(Locale.ROOT, "%,.0f", v) : String.format(Locale.ROOT, "%.2f", v);
    }

    private String json(double fsyncUs, String args) {
        StringBuilder sb = new StringBuilder("{\n");
        sb.append("  \"time\": \"").append(Instant.now()).append("\",\n");
        sb.append("  \"args\": \"").append(args.replace("\"", "'")).append("\",\n");
        sb.append("  \"java\": \"").append(System.getProperty("java.version")).append("\",\n");
        sb.append("  \"cpus\": ").append(Runtime.getRuntime().availableProcessors()).append(",\n");
        sb.append("  \"fsync_median_us\": ").append(String.format(Locale.ROOT, "%.1f", fsyncUs)).append(",\n");
        sb.append("  \"quiet_checks\": [");
        sb.append(String.join(", ", quietChecks.stream().map(q -> "\"" + q + "\"").toList()));
        sb.append("],\n");
        sb.append("  \"metrics\": {\n");
        int i = 0;
        for (var metric : samples.entrySet()) {
            sb.append("    \"").append(metric.getKey()).append("\": {");
            int j = 0;
            for (var e : metric.getValue().entrySet()) {
                sb.append(j++ > 0 ? ", " : "").append('"').append(e.getKey()).append("\": {\"median\": ")
                        .append(String.format(Locale.ROOT, "%.2f", median(e.getValue()))).append(", \"samples\": [");
                sb.append(String.join(", ", e.getValue().stream().map(v -> String.format(Locale.ROOT, "%.2f", v)).toList()));
                sb.append("]}");
            }
            sb.append(i++ < samples.size() - 1 ? "},\n" : "}\n");
        }
        sb.append("  }\n}\n");
        return sb.toString();
    }

    /** CPU busy over one second from /proc/stat, all cores. */
    private static double cpuBusyPercent() throws IOException, InterruptedException {
        long[] a = cpuTicks();
        Thread.sleep(1000);
        long[] b = cpuTicks();
        return 100.0 * (1.0 - (double) (b[1] - a[1]) / Math.max(1, b[0] - a[0]));
    }

    private static long[] cpuTicks() throws IOException {
        String[] f = Files.readAllLines(Paths.get("/proc/stat")).get(0).trim().split("\\s+");
        long total = 0;
        for (int i = 1; i <= 8 && i < f.length; i++) {
            total += Long.parseLong(f[i]);
        }
        return new long[] {total, Long.parseLong(f[4]) + Long.parseLong(f[5])};
    }

    private static String loadAverage() throws IOException {
        String[] f = Files.readString(Paths.get("/proc/loadavg")).trim().split(" ");
        return f[0] + " " + f[1] + " " + f[2];
    }

    private static long treeSize(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).sum();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
