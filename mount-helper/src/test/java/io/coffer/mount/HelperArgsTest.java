package io.coffer.mount;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class HelperArgsTest {
    @Test
    void theWayMountCallsIt() throws Exception {
        MountRequest r = HelperArgs.parse(List.of("fs-1a2b3c4d:/sub", "/mnt/data", "-v", "-o", "rw,tls,_netdev")).request();
        assertEquals("fs-1a2b3c4d:/sub", r.source());
        assertEquals("/mnt/data", r.mountpoint());
        assertEquals("rw,tls,_netdev", r.options());
        assertTrue(r.verbose());
        assertFalse(r.fake());
        assertFalse(r.sloppy());
    }

    @Test
    void combinedFlagsAndRepeatedOptions() throws Exception {
        MountRequest r = HelperArgs.parse(List.of("fs-1a2b3c4d", "/m", "-sfnv", "-o", "tls", "-oport=3", "-t", "coffer"))
                .request();
        assertTrue(r.fake());
        assertTrue(r.sloppy());
        assertTrue(r.verbose());
        assertEquals("tls,port=3", r.options());
    }

    @Test
    void mistakes() throws Exception {
        assertEquals(ExitCodes.USAGE, assertThrows(HelperException.class, () -> HelperArgs.parse(List.of("fs-1a2b3c4d")))
                .exitCode());
        assertTrue(assertThrows(HelperException.class, () -> HelperArgs.parse(List.of("a", "b", "c"))).getMessage()
                .startsWith("too many arguments"));
        assertTrue(assertThrows(HelperException.class, () -> HelperArgs.parse(List.of("a", "b", "-x"))).getMessage()
                .contains("unknown flag -x"));
        assertTrue(assertThrows(HelperException.class, () -> HelperArgs.parse(List.of("a", "b", "-o"))).getMessage()
                .contains("needs a value"));
        assertTrue(assertThrows(HelperException.class, () -> HelperArgs.parse(List.of("a", "b", "-N", "1"))).getMessage()
                .contains("not supported"));
        assertTrue(HelperArgs.parse(List.of("--help")).help());
    }
}
