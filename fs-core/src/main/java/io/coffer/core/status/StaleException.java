package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#ESTALE}. */
public final class StaleException extends FsException {
    private static final long serialVersionUID = 1L;

    public StaleException(String message) {
        super(message);
    }

    public StaleException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.ESTALE;
    }
}
