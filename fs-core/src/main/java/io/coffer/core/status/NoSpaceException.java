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

    @Override
    public Status status() {
        return Status.ENOSPC;
    }
}
