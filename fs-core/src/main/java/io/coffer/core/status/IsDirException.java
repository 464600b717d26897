package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#EISDIR}. */
public final class IsDirException extends FsException {
    private static final long serialVersionUID = 1L;

    public IsDirException(String message) {
        super(message);
    }

    public IsDirException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.EISDIR;
    }
}
