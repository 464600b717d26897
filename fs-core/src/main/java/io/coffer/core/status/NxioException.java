package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#ENXIO}. */
public final class NxioException extends FsException {
    private static final long serialVersionUID = 1L;

    public NxioException(String message) {
        super(message);
    }

    public NxioException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.ENXIO;
    }
}
