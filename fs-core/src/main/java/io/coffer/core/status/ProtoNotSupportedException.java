package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#EPROTONOSUPPORT}. */
public final class ProtoNotSupportedException extends FsException {
    private static final long serialVersionUID = 1L;

    public ProtoNotSupportedException(String message) {
        super(message);
    }

    public ProtoNotSupportedException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.EPROTONOSUPPORT;
    }
}
