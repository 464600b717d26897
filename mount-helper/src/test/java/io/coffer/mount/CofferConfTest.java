package io.coffer.mount;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class CofferConfTest {
    private static final Path F = Path.of("/etc/coffer/coffer.conf");

    @Test
    void templateParsesToTheBuiltInDefaults() throws Exception {
        CofferConf t = CofferConf.parse(F, CofferConf.template());
        CofferConf d = CofferConf.defaults();
        assertEquals(d.dnsNameFormat, t.dnsNameFormat);
        assertEquals(d.portLow, t.portLow);
        assertEquals(d.portHigh, t.portHigh);
        assertEquals(d.proxy, t.proxy);
        assertEquals(d.caFile, t.caFile);
        assertEquals(d.stunnelCommand, t.stunnelCommand);
        assertEquals(d.proxyProvider, t.proxyProvider);
        assertEquals(d.healthCheckIntervalSec, t.healthCheckIntervalSec);
        assertEquals(d.healthCheckTimeoutSec, t.healthCheckTimeoutSec);
        assertEquals(d.healthCheckFailures, t.healthCheckFailures);
        assertEquals(d.pollIntervalMs, t.pollIntervalMs);
        assertEquals(d.unmountGraceSec, t.unmountGraceSec);
        assertEquals(d.idleExitSec, t.idleExitSec);
        assertEquals(d.logLevel, t.logLevel);
        assertEquals(d.logMaxBytes, t.logMaxBytes);
        assertEquals(d.logBackupCount, t.logBackupCount);
        assertEquals(20049, d.portLow);
        assertEquals(21049, d.portHigh);
    }

    @Test
    void valuesAreRead() throws Exception {
        CofferConf c = CofferConf.parse(F, "[mount]\n  port_range_lower_bound = 30000 \nport_range_upper_bound=30010\n"
                + "dns_name_format = {fs_id}.files.example.com\n; comment\n# comment\n[log]\nlevel = debug\n");
        assertEquals(30000, c.portLow);
        assertEquals(30010, c.portHigh);
        assertEquals("{fs_id}.files.example.com", c.dnsNameFormat);
        assertEquals(CofferConf.LogLevel.DEBUG, c.logLevel);
    }

    @Test
    void mistakesNameFileAndLine() {
        HelperException e = assertThrows(HelperException.class, () -> CofferConf.parse(F, "[mount]\nport_range = 1\n"));
        assertEquals("/etc/coffer/coffer.conf:2: unknown key port_range in [mount]", e.getMessage());
        assertEquals(ExitCodes.USAGE, e.exitCode());
        e = assertThrows(HelperException.class, () -> CofferConf.parse(F, "[mount]\n\n[oops]\n"));
        assertTrue(e.getMessage().startsWith("/etc/coffer/coffer.conf:3: unknown section [oops]"), e.getMessage());
        e = assertThrows(HelperException.class, () -> CofferConf.parse(F, "[mount]\nport_range_lower_bound = lots\n"));
        assertEquals("/etc/coffer/coffer.conf:2: port_range_lower_bound = lots is not a whole number", e.getMessage());
        e = assertThrows(HelperException.class, () -> CofferConf.parse(F, "[mount]\nport_range_lower_bound = 9\n"));
        assertTrue(e.getMessage().contains("out of range 1024..65535"), e.getMessage());
        e = assertThrows(HelperException.class, () -> CofferConf.parse(F, "[mount]\ndns_name_format = files.example\n"));
        assertEquals("/etc/coffer/coffer.conf:2: dns_name_format must contain {fs_id}", e.getMessage());
        e = assertThrows(HelperException.class, () -> CofferConf.parse(F, "[mount]\nproxy = haproxy\n"));
        assertTrue(e.getMessage().contains("expected coffer, stunnel or none"));
        e = assertThrows(HelperException.class, () -> CofferConf.parse(F, "proxy = coffer\n"));
        assertEquals("/etc/coffer/coffer.conf:1: proxy is outside a section", e.getMessage());
        e = assertThrows(HelperException.class, () -> CofferConf.parse(F, "[mount]\nproxy = coffer\nproxy = none\n"));
        assertEquals("/etc/coffer/coffer.conf:3: proxy is set twice in [mount]", e.getMessage());
        e = assertThrows(HelperException.class,
                () -> CofferConf.parse(F, "[mount]\nport_range_lower_bound = 30000\nport_range_upper_bound = 29999\n"));
        assertTrue(e.getMessage().contains("below port_range_lower_bound"));
    }

    @Test
    void missingFileMeansDefaults() throws Exception {
        CofferConf c = CofferConf.load(Path.of("/nonexistent/coffer.conf"));
        assertEquals(20049, c.portLow);
    }
}
