package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#ENOSPC}. */
public final class NoSpaceException extends FsException {
    private static final long serialVersionUID = 1L;

    public NoSpaceException(String message) {
        super(message);
    }

    public NoSpaceException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * Whether {@code t}, or an exception it was caused by, is the operating system's ENOSPC or
     * EDQUOT: the JDK and RocksDB report both only in their messages (strerror's text).
     */
    public static boolean isDiskFull(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            String m = c.getMessage();
            if (m != null && (m.contains("No space left on device") || m.contains("Disk quota exceeded"))) {
                return true;
            }
        }
        return false;
    }

    @Override
    public Status status() {
        return Status.ENOSPC;
    }
}
