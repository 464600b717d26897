package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#ENOSYS}. */
public final class NoSysException extends FsException {
    private static final long serialVersionUID = 1L;

    public NoSysException(String message) {
        super(message);
    }

    public NoSysException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.ENOSYS;
    }
}
