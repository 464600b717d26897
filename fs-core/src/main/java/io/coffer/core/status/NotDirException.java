package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#ENOTDIR}. */
public final class NotDirException extends FsException {
    private static final long serialVersionUID = 1L;

    public NotDirException(String message) {
        super(message);
    }

    public NotDirException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.ENOTDIR;
    }
}
