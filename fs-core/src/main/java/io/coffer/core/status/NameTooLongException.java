package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#ENAMETOOLONG}. */
public final class NameTooLongException extends FsException {
    private static final long serialVersionUID = 1L;

    public NameTooLongException(String message) {
        super(message);
    }

    public NameTooLongException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.ENAMETOOLONG;
    }
}
