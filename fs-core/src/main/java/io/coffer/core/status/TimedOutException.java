package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#ETIMEDOUT}. */
public final class TimedOutException extends FsException {
    private static final long serialVersionUID = 1L;

    public TimedOutException(String message) {
        super(message);
    }

    public TimedOutException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.ETIMEDOUT;
    }
}
