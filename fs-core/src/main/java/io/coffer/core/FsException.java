package io.coffer.core;

import io.coffer.core.status.*;
import java.io.IOException;

/**
 * A file-system error that travels to the client as a {@link Status}. Each status has exactly one
 * subclass so that code cannot invent a status ad hoc; {@link #of} maps a received status back to
 * its subclass on the client.
 */
public abstract class FsException extends IOException {
    private static final long serialVersionUID = 1L;

    protected FsException(String message) {
        super(message);
    }

    protected FsException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * Statuses other than EIO are ordinary answers (a lookup of an absent name, a full directory),
     * met thousands of times a second under tar or git; filling in a stack trace for each cost more
     * than the operation. An EIO keeps its trace: it is the one someone will want to debug.
     */
    @Override
    public synchronized Throwable fillInStackTrace() {
        return status() == Status.EIO ? super.fillInStackTrace() : this;
    }

    /** The wire status of this error. */
    public abstract Status status();

    /** Rebuilds the typed exception for a status read from the wire. */
    public static FsException of(Status status, String message) {
        String m = message == null || message.isEmpty() ? status.name() : message;
        return switch (status) {
            case EPERM -> new PermException(m);
            case ENOENT -> new NoEntException(m);
            case ENXIO -> new NxioException(m);
            case E2BIG -> new TooBigException(m);
            case EBADF -> new BadFdException(m);
            case EAGAIN -> new AgainException(m);
            case ENOMEM -> new NoMemException(m);
            case EACCES -> new AccessException(m);
            case EBUSY -> new BusyException(m);
            case EEXIST -> new ExistException(m);
            case EXDEV -> new XdevException(m);
            case ENODEV -> new NoDevException(m);
            case ENOTDIR -> new NotDirException(m);
            case EISDIR -> new IsDirException(m);
            case EINVAL -> new InvalException(m);
            case EFBIG -> new FileTooBigException(m);
            case ENOSPC -> new NoSpaceException(m);
            case EROFS -> new RoFsException(m);
            case EMLINK -> new TooManyLinksException(m);
            case ERANGE -> new RangeException(m);
            case EDEADLK -> new DeadlockException(m);
            case ENAMETOOLONG -> new NameTooLongException(m);
            case ENOLCK -> new NoLockException(m);
            case ENOSYS -> new NoSysException(m);
            case ENOTEMPTY -> new NotEmptyException(m);
            case ELOOP -> new LoopException(m);
            case ENODATA -> new NoDataException(m);
            case EPROTO -> new ProtocolException(m);
            case EOVERFLOW -> new OverflowException(m);
            case EPROTONOSUPPORT -> new ProtoNotSupportedException(m);
            case EOPNOTSUPP -> new NotSupportedException(m);
            case ETIMEDOUT -> new TimedOutException(m);
            case ESTALE -> new StaleException(m);
            case EDQUOT -> new QuotaException(m);
            case EIO, OK -> new IoException(m);
        };
    }
}
