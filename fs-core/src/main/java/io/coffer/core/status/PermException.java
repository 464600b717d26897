package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#EPERM}. */
public final class PermException extends FsException {
    private static final long serialVersionUID = 1L;

    public PermException(String message) {
        super(message);
    }

    public PermException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.EPERM;
    }
}
