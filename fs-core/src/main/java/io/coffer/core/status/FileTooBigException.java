package io.coffer.core.status;

import io.coffer.core.FsException;
import io.coffer.core.Status;

/** {@link Status#EFBIG}. */
public final class FileTooBigException extends FsException {
    private static final long serialVersionUID = 1L;

    public FileTooBigException(String message) {
        super(message);
    }

    public FileTooBigException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Status status() {
        return Status.EFBIG;
    }
}
