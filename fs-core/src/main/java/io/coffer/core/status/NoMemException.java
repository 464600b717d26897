package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#ENOMEM}. */
public final class NoMemException extends FsException {
    private static final long serialVersionUID = 1L;

    public NoMemException(String message) {
        super(message);
    }

    public NoMemException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.ENOMEM;
    }
}
