package io.coffer.mount;

/**
 * A failure the user can act on: a one-line message and the exit code that mount(8) documents for
 * it ({@link ExitCodes}).
 */
public final class HelperException extends Exception {
    private static final long serialVersionUID = 1L;
    private final int exitCode;

    public HelperException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public HelperException(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }

    static HelperException usage(String message) {
        return new HelperException(ExitCodes.USAGE, message);
    }

    static HelperException failure(String message) {
        return new HelperException(ExitCodes.MOUNT_FAILURE, message);
    }
}
