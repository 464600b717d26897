package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#EBADF}. */
public final class BadFdException extends FsException {
    private static final long serialVersionUID = 1L;

    public BadFdException(String message) {
        super(message);
    }

    public BadFdException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.EBADF;
    }
}
