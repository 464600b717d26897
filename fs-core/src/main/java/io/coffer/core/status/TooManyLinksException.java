package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#EMLINK}. */
public final class TooManyLinksException extends FsException {
    private static final long serialVersionUID = 1L;

    public TooManyLinksException(String message) {
        super(message);
    }

    public TooManyLinksException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.EMLINK;
    }
}
