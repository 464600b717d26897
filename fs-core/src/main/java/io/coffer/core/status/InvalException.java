package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#EINVAL}. */
public final class InvalException extends FsException {
    private static final long serialVersionUID = 1L;

    public InvalException(String message) {
        super(message);
    }

    public InvalException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.EINVAL;
    }
}
