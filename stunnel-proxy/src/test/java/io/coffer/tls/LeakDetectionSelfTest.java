package io.coffer.tls;

import static org.junit.jupiter.api.Assertions.assertFalse;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Proves that {@link LeakCheckExtension} would catch a leak: leaks one buffer on purpose. */
class LeakDetectionSelfTest {
    @Test
    void aLeakedBufferIsReported() throws Exception {
        LeakCheckExtension.install();
        leakOne();
        List<String> reports = List.of();
        for (int i = 0; i < 20 && reports.isEmpty(); i++) {
            LeakCheckExtension.collectLeaks();
            reports = LeakCheckExtension.drain(); // drained, so the extension does not fail this class
        }
        assertFalse(reports.isEmpty(), "a deliberately leaked buffer was not reported by the leak detector");
    }

    private static void leakOne() {
        ByteBuf leaked = ByteBufAllocator.DEFAULT.directBuffer(128);
        leaked.writeLong(42); // touched, then dropped without release()
    }
}
