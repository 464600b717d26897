package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#EAGAIN}. */
public final class AgainException extends FsException {
    private static final long serialVersionUID = 1L;

    public AgainException(String message) {
        super(message);
    }

    public AgainException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.EAGAIN;
    }
}
