package io.coffer.mount;

/** Exit codes of mount.coffer, as mount(8) defines them for mount and its helpers. */
public final class ExitCodes {
    public static final int OK = 0;
    /** Incorrect invocation or permissions: bad source, options, configuration, not root. */
    public static final int USAGE = 1;
    /** System error: cannot fork, out of memory, cannot write state. */
    public static final int SYSTEM = 2;
    /** The mount could not be made: mount point, server, tunnel, daemon. */
    public static final int MOUNT_FAILURE = 32;

    private ExitCodes() {
    }
}
