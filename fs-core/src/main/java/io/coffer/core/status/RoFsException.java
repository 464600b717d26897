package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#EROFS}. */
public final class RoFsException extends FsException {
    private static final long serialVersionUID = 1L;

    public RoFsException(String message) {
        super(message);
    }

    public RoFsException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.EROFS;
    }
}
