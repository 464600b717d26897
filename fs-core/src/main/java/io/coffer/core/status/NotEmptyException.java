package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#ENOTEMPTY}. */
public final class NotEmptyException extends FsException {
    private static final long serialVersionUID = 1L;

    public NotEmptyException(String message) {
        super(message);
    }

    public NotEmptyException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.ENOTEMPTY;
    }
}
