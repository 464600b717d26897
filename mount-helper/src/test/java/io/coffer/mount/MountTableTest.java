package io.coffer.mount;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class MountTableTest {
    @Test
    void parsesOptionalFieldsAndEscapes() {
        List<MountTable.Entry> t = MountTable.parse(List.of(
                "26 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw",
                "42 26 0:39 / /mnt/my\\040data rw,nosuid,nodev,relatime shared:5 master:2 - fuse.coffer fs-1a2b3c4d:/sub rw,user_id=0",
                "garbage line"));
        assertEquals(2, t.size());
        MountTable.Entry e = t.get(1);
        assertEquals("/mnt/my data", e.mountPoint());
        assertEquals("fuse.coffer", e.fsType());
        assertEquals("fs-1a2b3c4d:/sub", e.source());
        assertEquals("0:39", e.device());
        assertTrue(e.isCoffer());
        assertTrue(MountTable.find(t, Path.of("/mnt/my data")).isPresent());
    }
}
