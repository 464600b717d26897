package io.coffer.mount;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateAndLogTest {
    @TempDir
    Path dir;

    @Test
    void stateRoundTripsWithSnakeCaseAndIgnoresUnknownFields() throws Exception {
        StateStore store = new StateStore(dir);
        MountState st = new MountState();
        st.phase = MountState.MOUNTED;
        st.fsId = "fs-1a2b3c4d";
        st.mountpoint = "/mnt/data";
        st.tlsport = 20049;
        st.proxyPid = 42L;
        Path f = store.stateFile(StateStore.baseName(st.fsId, st.mountpoint, st.tlsport));
        store.write(f, st);
        String json = Files.readString(f);
        assertTrue(json.contains("\"fs_id\" : \"fs-1a2b3c4d\""), json);
        assertTrue(json.contains("\"proxy_pid\" : 42"), json);
        Files.writeString(f, json.replace("{", "{\"from_the_future\": 1,"));
        MountState back = store.list().get(f);
        assertEquals(20049, back.tlsport);
        assertEquals("/mnt/data", back.mountpoint);
        try (AutoCloseable l = store.lock()) {
            assertTrue(Files.exists(dir.resolve(".lock")));
        }
    }

    @Test
    void portsSkipTakenOnes() throws Exception {
        // Ports in the machine's ephemeral range may be in use by any connection at any moment:
        // work on a run of ports that are free now.
        int low = freeRun(5);
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 5; i++) {
            int p = PortAllocator.pick(low, low + 4, seen, Set.of());
            assertFalse(seen.contains(p));
            seen.add(p);
        }
        HelperException e = org.junit.jupiter.api.Assertions.assertThrows(HelperException.class,
                () -> PortAllocator.pick(low, low + 4, seen, Set.of()));
        assertTrue(e.getMessage().contains("no free loopback port"));
        int pair = freeRun(2);
        try (java.net.ServerSocket busy = new java.net.ServerSocket(pair, 1, java.net.InetAddress.getLoopbackAddress())) {
            assertFalse(PortAllocator.bindable(pair));
            assertEquals(pair + 1, PortAllocator.pick(pair, pair + 1, Set.of(), Set.of()));
        }
    }

    /** The first of {@code n} consecutive loopback ports that can all be bound now. */
    private static int freeRun(int n) {
        for (int low = 40100; low < 60000; low += n) {
            boolean all = true;
            for (int p = low; p < low + n && all; p++) {
                all = PortAllocator.bindable(p);
            }
            if (all) {
                return low;
            }
        }
        throw new IllegalStateException("no run of " + n + " free loopback ports");
    }

    @Test
    void logsRotateBySizeKeepingN() throws Exception {
        Path log = dir.resolve("x.log");
        for (int round = 0; round < 5; round++) {
            Files.writeString(log, "x".repeat(100));
            assertTrue(RotatingLog.rotateIfNeeded(log, 50, 3));
            assertEquals(0, Files.size(log));
        }
        assertTrue(Files.exists(dir.resolve("x.log.1")));
        assertTrue(Files.exists(dir.resolve("x.log.3")));
        assertFalse(Files.exists(dir.resolve("x.log.4")));
        assertFalse(RotatingLog.rotateIfNeeded(log, 50, 3));
    }

    @Test
    void processRefTellsProcessesApart() {
        ProcessRef self = ProcessRef.self();
        assertTrue(self.isAlive());
        assertNotEquals(0, self.startTicks());
        assertFalse(new ProcessRef(self.pid(), self.startTicks() + 1).isAlive(), "same pid, other start: another process");
        assertFalse(new ProcessRef(Integer.MAX_VALUE, 1).isAlive());
    }
}
