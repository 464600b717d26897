package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#EDEADLK}. */
public final class DeadlockException extends FsException {
    private static final long serialVersionUID = 1L;

    public DeadlockException(String message) {
        super(message);
    }

    public DeadlockException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.EDEADLK;
    }
}
