package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#E2BIG}. */
public final class TooBigException extends FsException {
    private static final long serialVersionUID = 1L;

    public TooBigException(String message) {
        super(message);
    }

    public TooBigException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.E2BIG;
    }
}
