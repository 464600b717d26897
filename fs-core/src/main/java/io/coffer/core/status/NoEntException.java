package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#ENOENT}. */
public final class NoEntException extends FsException {
    private static final long serialVersionUID = 1L;

    public NoEntException(String message) {
        super(message);
    }

    public NoEntException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.ENOENT;
    }
}
