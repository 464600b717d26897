package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#EDQUOT}. */
public final class QuotaException extends FsException {
    private static final long serialVersionUID = 1L;

    public QuotaException(String message) {
        super(message);
    }

    public QuotaException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.EDQUOT;
    }
}
