package io.coffer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.coffer.mount.MountTable;
import io.coffer.mount.ProcessRef;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The README's main job on the embedded defaults, as a user would do it by hand: certificates,
 * a server that speaks only TLS on 127.0.0.1, an encrypted file system, {@code coffer install},
 * {@code mount -t coffer -o tls ...}, a file written and read back, and the same file's bytes as
 * they lie on the server's disk. Run again, it reuses what runs; {@code --stop} unmounts and stops
 * the server.
 */
final class Demo {
    static final Path DATA = Path.of(System.getenv().getOrDefault("COFFER_DEMO_DIR", "/var/lib/coffer/demo"));
    static final Path MOUNT = Path.of(System.getenv().getOrDefault("COFFER_DEMO_MOUNT", "/mnt/coffer-demo"));
    static final int PORT = Integer.parseInt(System.getenv().getOrDefault("COFFER_DEMO_PORT", "2049"));
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path CERTS = DATA.resolve("certs");
    private static final Path CA = CERTS.resolve("ca.pem");
    private static final Path STATE = DATA.resolve("demo.json");
    private static final String TLS_MISSING = "TLS is not built into this version yet";

    private Demo() {
    }

    static int run() throws Exception {
        if (!prerequisites()) {
            return 1;
        }
        Files.createDirectories(DATA);
        Files.createDirectories(MOUNT);
        ObjectNode state = readState();

        say("1. Certificates in " + CERTS + " (coffer certs init-ca / issue --server localhost --ip 127.0.0.1)");
        certificates();

        say("2. Server: data in " + DATA + ", TLS only, on 127.0.0.1:" + PORT);
        state = ensureServer(state);

        say("3. File system");
        state = ensureFileSystem(state);
        String fsId = state.get("fs_id").asText();
        say("   " + fsId + (state.path("encrypted").asBoolean() ? " (encrypted at rest)" : ""));

        if (!Files.isExecutable(Path.of("/sbin/mount.coffer"))) {
            say("4. coffer install (/sbin/mount.coffer is missing)");
            int rc = InstallCommand.installer().install();
            if (rc != 0) {
                return rc;
            }
        } else {
            say("4. /sbin/mount.coffer is installed");
        }

        String opts = "tls,addr=127.0.0.1" + (PORT == 2049 ? "" : ",port=" + PORT) + ",cafile=" + CA;
        List<String> mount = List.of("mount", "-t", "coffer", "-o", opts, fsId + ":/", MOUNT.toString());
        Optional<MountTable.Entry> mounted = MountTable.find(MOUNT);
        if (mounted.isPresent() && mounted.get().isCoffer() && mounted.get().source().equals(fsId + ":/")) {
            say("5. Already mounted: " + fsId + ":/ on " + MOUNT);
        } else if (mounted.isPresent()) {
            System.err.println("coffer demo: " + MOUNT + " holds another mount (" + mounted.get().source()
                    + "); unmount it or set COFFER_DEMO_MOUNT");
            return 32;
        } else {
            say("5. " + String.join(" ", mount));
            Result r = exec(mount, 180);
            if (r.exit != 0) {
                System.err.println("coffer demo: mount failed (exit " + r.exit + "): " + r.err.trim());
                return r.exit;
            }
        }
        say("   the tunnel behind it:  coffer status");
        for (String line : exec(SelfCommand.of(List.of("status")), 60).out.split("\n")) {
            say("   " + line);
        }

        Path file = MOUNT.resolve("hello.txt");
        // Over 8 KiB, so that the server keeps it in a chunk record of a segment file (smaller
        // files live inline in the metadata store) and step 7 can show that record.
        StringBuilder sb = new StringBuilder("Hello from Coffer, written at " + Instant.now() + "\n");
        for (int i = 1; sb.length() < 12_000; i++) {
            sb.append(String.format("line %03d: every byte of this file is encrypted before it reaches the disk%n", i));
        }
        String text = sb.toString();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        }
        String back = Files.readString(file, StandardCharsets.UTF_8);
        say("6. Wrote and read back " + file + " (" + text.length() + " bytes; the first two lines):");
        back.lines().limit(2).forEach(l -> say("   " + l));
        if (!back.equals(text)) {
            System.err.println("coffer demo: read back different bytes");
            return 1;
        }
        showOnDisk(file, text, fsId, state.path("encrypted").asBoolean());

        say("");
        say("It stays mounted. Use it like any directory: ls -l " + MOUNT);
        say("To unmount and stop the server:  coffer demo --stop      (or: umount " + MOUNT + ")");
        return 0;
    }

    static int stop() throws Exception {
        Optional<MountTable.Entry> m = MountTable.find(MOUNT);
        if (m.isPresent() && m.get().isCoffer()) {
            say("umount " + MOUNT);
            Result r = exec(List.of("umount", MOUNT.toString()), 60);
            if (r.exit != 0) {
                System.err.println("coffer demo: umount " + MOUNT + " failed: " + r.err.trim()
                        + " (is a program still using it? fuser -m " + MOUNT + ")");
                return 32;
            }
        } else {
            say(MOUNT + " is not mounted");
        }
        ObjectNode state = readState();
        for (String role : new String[] {"front", "server"}) {
            ProcessRef p = ref(state, role);
            if (p != null && p.isAlive()) {
                say("stopping the " + (role.equals("front") ? "TLS front proxy" : "server") + " (pid " + p.pid() + ")");
                p.stop(30_000);
            }
        }
        state.remove(List.of("server_pid", "server_ticks", "front_pid", "front_ticks"));
        writeState(state);
        say("Stopped. The data stays in " + DATA + " for the next coffer demo (rm -rf it to start over).");
        return 0;
    }

    private static boolean prerequisites() {
        List<String> missing = new ArrayList<>();
        if (!"root".equals(System.getProperty("user.name"))) {
            System.err.println("coffer demo: run as root (it mounts a file system and installs /sbin/mount.coffer)");
            return false;
        }
        if (!Files.exists(Path.of("/dev/fuse"))) {
            missing.add("/dev/fuse (modprobe fuse)");
        }
        if (!Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libfuse.so.2")) && !Files.exists(Path.of("/lib/x86_64-linux-gnu/libfuse.so.2"))) {
            missing.add("libfuse.so.2 (apt-get install libfuse2)");
        }
        if (!Files.isExecutable(Path.of("/usr/bin/fusermount")) && !Files.isExecutable(Path.of("/bin/fusermount"))) {
            missing.add("fusermount (apt-get install fuse3)");
        }
        if (!missing.isEmpty()) {
            System.err.println("coffer demo: missing " + String.join(", ", missing));
            return false;
        }
        return true;
    }

    private static void certificates() throws Exception {
        if (!Files.exists(CA)) {
            exec(SelfCommand.of(List.of("certs", "init-ca", "--dir", CERTS.toString(), "--name", "Coffer demo CA")), 120)
                    .check("certs init-ca");
        }
        if (!Files.exists(CERTS.resolve("localhost.pem"))) {
            exec(SelfCommand.of(List.of("certs", "issue", "--dir", CERTS.toString(), "--server", "localhost", "--ip",
                    "127.0.0.1")), 120).check("certs issue");
        }
        say("   CA " + CA + ", server certificate " + CERTS.resolve("localhost.pem") + " (names: localhost, 127.0.0.1)");
    }

    private static ObjectNode ensureServer(ObjectNode state) throws Exception {
        ProcessRef server = ref(state, "server");
        ProcessRef front = ref(state, "front");
        boolean fallback = state.path("mode").asText().equals("tls-front");
        if (server != null && server.isAlive() && (!fallback || (front != null && front.isAlive()))) {
            say("   already running (pid " + server.pid() + (fallback ? ", TLS front pid " + front.pid() : "") + ")");
            return state;
        }
        // Whatever is left of an earlier run is stopped before starting afresh.
        for (ProcessRef p : new ProcessRef[] {front, server}) {
            if (p != null) {
                p.stop(10_000);
            }
        }
        Path log = SelfCommand.logDir().resolve("demo-server.log");
        List<String> tls = List.of("--tls-cert", CERTS.resolve("localhost.pem").toString(), "--tls-key",
                CERTS.resolve("localhost.key").toString(), "--tls-ca", CA.toString());
        long offset = size(log);
        Started s = startAndWait(serverArgs(PORT, tls), log, "server");
        if (s.ref != null) {
            state.put("mode", "tls");
            state.put("admin_port", PORT);
            put(state, "server", s.ref);
            state.remove(List.of("front_pid", "front_ticks"));
            say("   started with --tls-cert/--tls-key/--tls-ca (pid " + s.ref.pid() + ", log " + log + ")");
            writeState(state);
            return state;
        }
        if (!tail(log, offset).contains(TLS_MISSING)) {
            throw new IOException("the server did not start: " + lastLine(tail(log, offset)) + " (log " + log + ")");
        }
        // FALLBACK until the server terminates TLS itself: plaintext on a private loopback port,
        // TLS on the demo port through `coffer proxy` in server mode (DESIGN: "or by a
        // stunnel-proxy in server mode in front of it").
        int internal = freePort();
        say("   FALLBACK: this build's server cannot terminate TLS yet; it listens on 127.0.0.1:" + internal
                + " (plaintext, loopback only) behind `coffer proxy --server` on 127.0.0.1:" + PORT);
        Started plain = startAndWait(serverArgs(internal, List.of()), log, "server");
        if (plain.ref == null) {
            throw new IOException("the server did not start: " + lastLine(tail(log, offset)) + " (log " + log + ")");
        }
        Path frontLog = SelfCommand.logDir().resolve("demo-tls-front.log");
        Started f = startAndWait(List.of("proxy", "--server", "--service", "demo-tls-front", "--accept",
                "127.0.0.1:" + PORT, "--connect", "127.0.0.1:" + internal, "--cert",
                CERTS.resolve("localhost.pem").toString(), "--key", CERTS.resolve("localhost.key").toString(),
                "--ready-file", DATA.resolve("front.ready").toString()), frontLog, "proxy");
        if (f.ref == null) {
            plain.ref.stop(10_000);
            throw new IOException("the TLS front proxy did not start: " + lastLine(tail(frontLog, 0)) + " (log "
                    + frontLog + ")");
        }
        state.put("mode", "tls-front");
        state.put("admin_port", internal);
        put(state, "server", plain.ref);
        put(state, "front", f.ref);
        say("   started (server pid " + plain.ref.pid() + ", TLS front pid " + f.ref.pid() + ", logs " + log + ", "
                + frontLog + ")");
        writeState(state);
        return state;
    }

    private static List<String> serverArgs(int port, List<String> tls) {
        List<String> a = new ArrayList<>(List.of("server", "--data-dir", DATA.resolve("server").toString(), "--listen",
                "127.0.0.1:" + port, "--ready-file", DATA.resolve("server.ready").toString()));
        a.addAll(tls);
        return a;
    }

    private record Started(ProcessRef ref) {
    }

    /** Starts {@code coffer ARGS} in its own session and waits for its ready file; ref null if it exited. */
    private static Started startAndWait(List<String> args, Path log, String role) throws Exception {
        Path ready = args.contains("--ready-file") ? Path.of(args.get(args.indexOf("--ready-file") + 1)) : null;
        Files.deleteIfExists(ready);
        ProcessBuilder pb = new ProcessBuilder(SelfCommand.detached(SelfCommand.of(args)))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process p = pb.start();
        long deadline = System.currentTimeMillis() + 120_000;
        while (!Files.exists(ready)) {
            if (!p.isAlive()) {
                return new Started(null);
            }
            if (System.currentTimeMillis() > deadline) {
                p.destroyForcibly();
                throw new IOException("the " + role + " did not start within 120 s; see " + log);
            }
            Thread.sleep(50);
        }
        return new Started(ProcessRef.of(p.pid()).orElseThrow(() -> new IOException("the " + role + " exited")));
    }

    private static ObjectNode ensureFileSystem(ObjectNode state) throws Exception {
        List<String> conn = List.of("--server", "127.0.0.1:" + PORT, "--tls-ca", CA.toString());
        Result list = exec(SelfCommand.of(cat(List.of("fs", "list", "--json"), conn)), 120);
        list.check("fs list");
        for (JsonNode f : JSON.readTree(list.out)) {
            if ("demo".equals(f.path("name").asText()) && "available".equals(f.path("state").asText("available"))) {
                state.put("fs_id", f.get("id").asText());
                state.put("encrypted", f.path("encrypted").asBoolean());
                writeState(state);
                say("   reusing the file system named demo");
                return state;
            }
        }
        Result created = exec(SelfCommand.of(cat(List.of("fs", "create", "--name", "demo", "--json"), conn)), 120);
        boolean encrypted = true;
        if (created.exit != 0) {
            String why = created.err.trim();
            if (!why.toLowerCase(java.util.Locale.ROOT).contains("kms")) {
                throw new IOException("fs create failed: " + why);
            }
            // FALLBACK while the server has no KMS wired: an unencrypted file system, said loudly.
            say("   FALLBACK: the server cannot encrypt at rest (" + why + "); creating an UNENCRYPTED file system");
            created = exec(SelfCommand.of(cat(List.of("fs", "create", "--name", "demo", "--json", "--no-encrypted"), conn)),
                    120);
            created.check("fs create --no-encrypted");
            encrypted = false;
        }
        JsonNode r = JSON.readTree(created.out);
        state.put("fs_id", r.get("id").asText());
        state.put("encrypted", r.path("encrypted").asBoolean(encrypted));
        writeState(state);
        return state;
    }

    /**
     * Prints the file beside its chunk record in the server's segment files (docs/format.md,
     * section 3): the record of the file's inode, chunk 0, newest version.
     */
    private static void showOnDisk(Path file, String text, String fsId, boolean encrypted) throws IOException {
        long ino = ((Number) Files.getAttribute(file, "unix:ino")).longValue();
        int fs = Integer.parseUnsignedInt(fsId.substring(3), 16);
        Path chunks = DATA.resolve("server/chunks");
        byte[] plain = text.getBytes(StandardCharsets.UTF_8);
        Record best = null;
        boolean plaintextOnDisk = false;
        List<Path> segments = new ArrayList<>();
        if (Files.isDirectory(chunks)) {
            try (Stream<Path> s = Files.list(chunks)) {
                s.filter(p -> p.getFileName().toString().startsWith("seg-")).sorted().forEach(segments::add);
            }
        }
        byte[] firstLine = text.lines().findFirst().orElse(text).getBytes(StandardCharsets.UTF_8);
        List<Path> everything = new ArrayList<>();
        try (Stream<Path> s = Files.walk(DATA.resolve("server"))) {
            s.filter(Files::isRegularFile).forEach(everything::add);
        }
        for (Path f : everything) {
            if (Files.size(f) < (64L << 20) && indexOf(Files.readAllBytes(f), firstLine) >= 0) {
                plaintextOnDisk = true;
            }
        }
        for (Path seg : segments) {
            byte[] all = Files.readAllBytes(seg);
            Record r = findChunk(seg, all, fs, ino);
            if (r != null && (best == null || Long.compareUnsigned(r.version, best.version) > 0)) {
                best = r;
            }
        }
        say("7. The same file on the server's disk (" + chunks + "):");
        if (best == null) {
            say("   (no chunk record of inode " + ino + " found in " + segments.size() + " segment file(s))");
            return;
        }
        say("   " + best.segment.getFileName() + " at offset " + best.offset + ": chunk record of " + fsId + ", inode " + ino
                + ", chunk 0, version " + best.version + " (40-byte header, then the payload)");
        for (String l : hexdump(best.bytes, best.offset, Math.min(best.bytes.length, 40 + 64))) {
            say("   " + l);
        }
        say("   plaintext " + plain.length + " bytes -> payload " + (best.bytes.length - 40) + " bytes"
                + (encrypted ? " = 12-byte nonce + AES-256-GCM ciphertext + 16-byte tag" : " = plaintext + CRC32C"));
        say("   the line \"" + new String(firstLine, StandardCharsets.UTF_8) + "\" appears in the server's files ("
                + DATA.resolve("server") + "): " + (plaintextOnDisk ? "YES" : "no"));
    }

    private record Record(Path segment, long offset, long version, byte[] bytes) {
    }

    private static Record findChunk(Path seg, byte[] all, int fs, long ino) {
        ByteBuffer b = ByteBuffer.wrap(all);
        Record found = null;
        int pos = 0;
        while (pos + 40 <= all.length) {
            if (b.getInt(pos) == 0) {
                // Zeros around a direct append (docs/format.md): records go on at a 4096 boundary.
                pos = (pos / 4096 + 1) * 4096;
                continue;
            }
            if (b.getInt(pos) != 0x43434B31) {
                break;
            }
            int recFs = b.getInt(pos + 8);
            long recIno = b.getLong(pos + 12);
            long index = b.getLong(pos + 20);
            long version = b.getLong(pos + 28);
            int len = b.getInt(pos + 36);
            if (len < 0 || pos + 40L + len > all.length) {
                break;
            }
            if (recFs == fs && recIno == ino && index == 0
                    && (found == null || Long.compareUnsigned(version, found.version) > 0)) {
                byte[] rec = new byte[40 + len];
                System.arraycopy(all, pos, rec, 0, rec.length);
                found = new Record(seg, pos, version, rec);
            }
            pos += 40 + len;
        }
        return found;
    }

    static List<String> hexdump(byte[] b, long base, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i += 16) {
            StringBuilder hex = new StringBuilder();
            StringBuilder asc = new StringBuilder();
            for (int j = i; j < i + 16; j++) {
                if (j < n) {
                    hex.append(String.format("%02x ", b[j] & 0xff));
                    char c = (char) (b[j] & 0xff);
                    asc.append(c >= 32 && c < 127 ? c : '.');
                } else {
                    hex.append("   ");
                }
                if (j == i + 7) {
                    hex.append(' ');
                }
            }
            out.add(String.format("%08x  %s |%s|", base + i, hex, asc));
        }
        return out;
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private record Result(int exit, String out, String err) {
        Result check(String what) throws IOException {
            if (exit != 0) {
                throw new IOException(what + " failed (exit " + exit + "): " + err.trim());
            }
            return this;
        }
    }

    private static Result exec(List<String> cmd, int timeoutSeconds) throws IOException, InterruptedException {
        Path out = Files.createTempFile("coffer-demo", ".out");
        Path err = Files.createTempFile("coffer-demo", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
            Process p = pb.start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " did not finish within " + timeoutSeconds + " s");
            }
            return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static List<String> cat(List<String> a, List<String> b) {
        List<String> l = new ArrayList<>(a);
        l.addAll(b);
        return l;
    }

    private static ObjectNode readState() throws IOException {
        if (Files.exists(STATE)) {
            try {
                return (ObjectNode) JSON.readTree(Files.readAllBytes(STATE));
            } catch (IOException | ClassCastException e) {
                // Rewritten below.
            }
        }
        return JSON.createObjectNode();
    }

    private static void writeState(ObjectNode state) throws IOException {
        Path tmp = STATE.resolveSibling(STATE.getFileName() + ".tmp");
        Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(state));
        Files.move(tmp, STATE, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static ProcessRef ref(ObjectNode state, String role) {
        if (!state.has(role + "_pid")) {
            return null;
        }
        return new ProcessRef(state.get(role + "_pid").asLong(), state.path(role + "_ticks").asLong(-1));
    }

    private static void put(ObjectNode state, String role, ProcessRef r) {
        state.put(role + "_pid", r.pid());
        state.put(role + "_ticks", r.startTicks());
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static long size(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            return 0;
        }
    }

    private static String tail(Path f, long offset) {
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "r")) {
            long from = Math.max(0, Math.min(offset, r.length()));
            byte[] b = new byte[(int) Math.min(65536, r.length() - from)];
            r.seek(from);
            r.readFully(b);
            return new String(b, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private static String lastLine(String text) {
        String[] l = text.strip().split("\n");
        return l.length == 0 ? "" : l[l.length - 1];
    }

    private static void say(String s) {
        System.out.println(s);
    }
}
