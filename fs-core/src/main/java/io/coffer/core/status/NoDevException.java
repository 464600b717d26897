package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#ENODEV}. */
public final class NoDevException extends FsException {
    private static final long serialVersionUID = 1L;

    public NoDevException(String message) {
        super(message);
    }

    public NoDevException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.ENODEV;
    }
}
