package io.coffer.tls;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * Fails a test class if Netty's leak detector reported a leaked buffer while it ran.
 *
 * <p>Registered for every test class (service file + autodetection). It makes sure detection is
 * PARANOID (every buffer tracked), captures the detector's reports from its logger, and after the
 * class forces the reports out: leaks are only noticed after the leaked buffer was garbage-collected
 * and a later allocation polls the detector's queue.
 */
public final class LeakCheckExtension implements BeforeAllCallback, AfterAllCallback {
    private static final List<String> REPORTS = new ArrayList<>();
    private static boolean installed;

    @Override
    public void beforeAll(ExtensionContext context) {
        install();
        collectLeaks(); // reports from an earlier class are that class's business
        drain();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        collectLeaks();
        List<String> leaks = drain();
        if (!leaks.isEmpty()) {
            throw new AssertionError(leaks.size() + " Netty buffer leak report(s) in " + context.getDisplayName()
                    + ":\n" + String.join("\n---\n", leaks));
        }
    }

    static synchronized void install() {
        if (installed) {
            return;
        }
        installed = true;
        if (ResourceLeakDetector.getLevel() != ResourceLeakDetector.Level.PARANOID) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        }
        Logger detector = (Logger) LoggerFactory.getLogger(ResourceLeakDetector.class);
        AppenderBase<ILoggingEvent> capture = new AppenderBase<>() {
            @Override
            protected void append(ILoggingEvent e) {
                String msg = e.getFormattedMessage();
                if (msg != null && msg.contains("LEAK")) {
                    synchronized (REPORTS) {
                        REPORTS.add(msg);
                    }
                }
            }
        };
        capture.setContext(detector.getLoggerContext());
        capture.setName("leak-capture");
        capture.start();
        detector.addAppender(capture);
    }

    /** Makes the detector report what has been collected so far. */
    public static void collectLeaks() {
        for (int round = 0; round < 4; round++) {
            System.gc();
            System.runFinalization();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            // Each tracked allocation polls the detector's reference queue and reports what it finds.
            for (ByteBufAllocator a : List.of(ByteBufAllocator.DEFAULT, PooledByteBufAllocator.DEFAULT,
                    UnpooledByteBufAllocator.DEFAULT)) {
                for (int i = 0; i < 64; i++) {
                    ByteBuf b = a.directBuffer(1);
                    b.release();
                    ByteBuf h = a.heapBuffer(1);
                    h.release();
                }
            }
        }
    }

    /** Returns and forgets the reports captured so far. */
    public static List<String> drain() {
        synchronized (REPORTS) {
            List<String> out = new ArrayList<>(REPORTS);
            REPORTS.clear();
            return out;
        }
    }
}
