package io.coffer.it;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * What the encryption-at-rest kernel tests share: an errno-exact I/O probe, distinctive markers
 * and a byte scan of a server's data directory, the segment file layout (to tamper with chunk
 * records as an attacker with the disk would), and the KMS audit log.
 */
final class AtRest {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** SegmentChunkStore's record header: magic, format version, two spare bytes, fs, inode, index, version, length. */
    static final int HEADER = 40;
    static final int MAGIC = 0x43434B31;

    private AtRest() {
    }

    /** A marker nobody else writes: a tag and 24 random letters and digits (no '/', so it works as a file name). */
    static String marker(String tag) {
        StringBuilder b = new StringBuilder(tag).append('-');
        for (int i = 0; i < 24; i++) {
            b.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
        }
        return b.toString();
    }

    // ------------------------------------------------------------------ admin

    /**
     * Creates a file system over the protocol from this JVM, as {@code coffer fs create} does,
     * for tests whose subject is not the command line (a launch of {@code bin/coffer} costs
     * seconds on a busy machine). Returns the file system's id.
     */
    static String createFs(int port, boolean encrypted) throws IOException {
        return createFs(port, encrypted, null);
    }

    /** As {@link #createFs(int, boolean)}, under the CMK {@code kmsKey} (null: the default key). */
    static String createFs(int port, boolean encrypted, String kmsKey) throws IOException {
        io.coffer.client.RpcClient rpc = new io.coffer.client.RpcClient(
                io.coffer.client.RpcClient.Options.of("127.0.0.1", port).withConnections(1).withSoft(30));
        try {
            rpc.connect(10_000);
            com.fasterxml.jackson.databind.node.ObjectNode args = JSON.createObjectNode().put("encrypted", encrypted);
            if (kmsKey != null) {
                args.put("kmsKey", kmsKey);
            }
            String reply = new io.coffer.client.RemoteFs(rpc).admin("fs-create", JSON.writeValueAsString(args));
            return JSON.readTree(reply).get("id").asText();
        } finally {
            rpc.close();
        }
    }

    // ------------------------------------------------------------------ probe

    /** Copies the probe script into {@code work}. */
    static Path installProbe(Path work) throws IOException {
        Path p = work.resolve("atrest_probe.py");
        try (InputStream in = AtRest.class.getResourceAsStream("/atrest_probe.py")) {
            Files.copy(in, p, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return p;
    }

    /** Runs the probe; returns its one line: "OK ..." or an errno name such as EIO or EACCES. */
    static String probe(Path probe, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", probe.toString()));
        cmd.addAll(List.of(args));
        return Coffer.run(Duration.ofSeconds(90), cmd).out().trim();
    }

    static String pread(Path probe, Path file, long offset, int length) throws IOException, InterruptedException {
        return probe(probe, "pread", file.toString(), Long.toString(offset), Integer.toString(length));
    }

    /** Writes seeded random bytes at an offset and fsyncs; "OK sha" or the errno name. */
    static String write(Path probe, Path file, long offset, int length, long seed) throws IOException, InterruptedException {
        return probe(probe, "write", file.toString(), Long.toString(offset), Integer.toString(length), Long.toString(seed));
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes a whole file and forces it to the server before closing (close-to-open: it is stable then). */
    static void writeSynced(Path file, byte[] data) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(data);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
    }

    /** Overwrites part of a file and forces it. */
    static void overwriteSynced(Path file, long offset, byte[] data) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(data);
            long p = offset;
            while (b.hasRemaining()) {
                p += ch.write(b, p);
            }
            ch.force(true);
        }
    }

    static void dropPageCache() throws IOException, InterruptedException {
        Coffer.sh("sync; echo 3 > /proc/sys/vm/drop_caches").ok();
    }

    // ------------------------------------------------------------------ scanning

    /** Every regular file under {@code root}, with its bytes. */
    static Map<Path, byte[]> readAll(Path root) throws IOException {
        Map<Path, byte[]> out = new LinkedHashMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
                try {
                    out.put(p, Files.readAllBytes(p));
                } catch (java.nio.file.NoSuchFileException gone) {
                    // RocksDB removed an obsolete file between listing and reading.
                }
            }
        }
        return out;
    }

    /** For each marker, the files whose bytes contain it (ASCII). */
    static Map<String, List<Path>> scan(Map<Path, byte[]> files, Collection<String> markers) {
        Map<String, List<Path>> hits = new LinkedHashMap<>();
        for (String m : markers) {
            hits.put(m, new ArrayList<>());
        }
        for (Map.Entry<Path, byte[]> f : files.entrySet()) {
            // ISO-8859-1 maps every byte to one char, so indexOf finds exactly the byte sequence.
            String text = new String(f.getValue(), StandardCharsets.ISO_8859_1);
            for (String m : markers) {
                if (text.contains(m)) {
                    hits.get(m).add(f.getKey());
                }
            }
        }
        return hits;
    }

    static long totalBytes(Map<Path, byte[]> files) {
        return files.values().stream().mapToLong(b -> b.length).sum();
    }

    // ------------------------------------------------------------------ segment records

    /** One chunk record in a segment file. */
    record Record(Path segment, long offset, int fs, long inode, long index, long version, int payloadLength) {
        long payloadOffset() {
            return offset + HEADER;
        }

        long end() {
            return offset + HEADER + payloadLength;
        }

        String fsId() {
            return String.format("fs-%08x", fs);
        }
    }

    static List<Path> segments(Path dataDir) throws IOException {
        try (Stream<Path> s = Files.list(dataDir.resolve("chunks"))) {
            return s.filter(p -> p.getFileName().toString().matches("seg-\\d{8}\\.log")).sorted().toList();
        }
    }

    /** Parses every record of a segment file, in order. */
    static List<Record> records(Path segment) throws IOException {
        List<Record> out = new ArrayList<>();
        byte[] all = Files.readAllBytes(segment);
        ByteBuffer b = ByteBuffer.wrap(all);
        long pos = 0;
        while (pos + HEADER <= all.length) {
            b.position((int) pos);
            int magic = b.getInt();
            if (magic == 0) {
                // Zeros around a direct append (docs/format.md): the next record starts on a 4096 boundary.
                pos = (pos / 4096 + 1) * 4096;
                continue;
            }
            if (magic != MAGIC) {
                fail("no record header at " + segment + " offset " + pos);
            }
            b.get();
            b.get();
            b.getShort();
            int fs = b.getInt();
            long ino = b.getLong();
            long idx = b.getLong();
            long ver = b.getLong();
            int len = b.getInt();
            out.add(new Record(segment, pos, fs, ino, idx, ver, len));
            pos += HEADER + len;
        }
        return out;
    }

    /** The records of one file's chunk, oldest version first. */
    static List<Record> versions(List<Record> all, long inode, long index) {
        return all.stream().filter(r -> r.inode() == inode && r.index() == index)
                .sorted((a, c) -> Long.compare(a.version(), c.version())).toList();
    }

    /** The newest record of one file's chunk. */
    static Record latest(List<Record> all, long inode, long index) {
        List<Record> v = versions(all, inode, index);
        if (v.isEmpty()) {
            fail("no record of inode " + inode + " chunk " + index);
        }
        return v.get(v.size() - 1);
    }

    static byte[] read(Path file, long offset, int length) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(length);
            while (b.hasRemaining()) {
                if (ch.read(b, offset + b.position()) < 0) {
                    fail(file + " ends before offset " + (offset + length));
                }
            }
            return b.array();
        }
    }

    static void writeAt(Path file, long offset, byte[] data) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(data);
            while (b.hasRemaining()) {
                ch.write(b, offset + b.position());
            }
            ch.force(false);
        }
    }

    /** Flips one bit of a record's ciphertext (past the nonce). */
    static void flipBit(Record r, int payloadByte) throws IOException {
        byte[] one = read(r.segment(), r.payloadOffset() + payloadByte, 1);
        one[0] ^= 0x10;
        writeAt(r.segment(), r.payloadOffset() + payloadByte, one);
    }

    /** Exchanges the payloads (nonce, ciphertext, tag) of two records of equal length; headers stay. */
    static void swapPayloads(Record a, Record b) throws IOException {
        if (a.payloadLength() != b.payloadLength()) {
            fail("payloads differ in length: " + a + " " + b);
        }
        byte[] pa = read(a.segment(), a.payloadOffset(), a.payloadLength());
        byte[] pb = read(b.segment(), b.payloadOffset(), b.payloadLength());
        writeAt(a.segment(), a.payloadOffset(), pb);
        writeAt(b.segment(), b.payloadOffset(), pa);
    }

    /**
     * Puts an older record's bytes where the newer one is. With {@code patchVersion} the header
     * keeps the newer version number, so only the cryptographic binding of the version is left
     * to notice.
     */
    static void rollBack(Record older, Record newer, boolean patchVersion) throws IOException {
        if (older.payloadLength() != newer.payloadLength()) {
            fail("records differ in length: " + older + " " + newer);
        }
        byte[] old = read(older.segment(), older.offset(), HEADER + older.payloadLength());
        if (patchVersion) {
            ByteBuffer.wrap(old).putLong(28, newer.version());
        }
        writeAt(newer.segment(), newer.offset(), old);
    }

    // ------------------------------------------------------------------ KMS audit log

    /** The audit entries of the server's local keystore (docs/kms.md: DATA-DIR/kms/audit.log). */
    static List<JsonNode> audit(Path dataDir) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(dataDir.resolve("kms/audit.log"))) {
            if (!line.isBlank()) {
                out.add(JSON.readTree(line));
            }
        }
        return out;
    }

    /** Lines of a log file from {@code from} on (to look only at what happened after a point). */
    static String logSince(Path log, long from) throws IOException {
        byte[] all = Files.readAllBytes(log);
        return new String(all, (int) Math.min(from, all.length), (int) Math.max(0, all.length - from),
                StandardCharsets.UTF_8);
    }

    /** Polls {@code check} until it returns true or the time is up; returns the time it took. */
    static Duration await(Duration limit, Duration every, Check check) throws Exception {
        long start = System.nanoTime();
        while (true) {
            if (check.done()) {
                return Duration.ofNanos(System.nanoTime() - start);
            }
            if (System.nanoTime() - start > limit.toNanos()) {
                return null;
            }
            Thread.sleep(every.toMillis());
        }
    }

    @FunctionalInterface
    interface Check {
        boolean done() throws Exception;
    }
}
