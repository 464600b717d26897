package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#EOVERFLOW}. */
public final class OverflowException extends FsException {
    private static final long serialVersionUID = 1L;

    public OverflowException(String message) {
        super(message);
    }

    public OverflowException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.EOVERFLOW;
    }
}
