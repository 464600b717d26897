package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#EXDEV}. */
public final class XdevException extends FsException {
    private static final long serialVersionUID = 1L;

    public XdevException(String message) {
        super(message);
    }

    public XdevException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.EXDEV;
    }
}
