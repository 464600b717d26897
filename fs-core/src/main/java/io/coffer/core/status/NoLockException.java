package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#ENOLCK}. */
public final class NoLockException extends FsException {
    private static final long serialVersionUID = 1L;

    public NoLockException(String message) {
        super(message);
    }

    public NoLockException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.ENOLCK;
    }
}
