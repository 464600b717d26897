package io.coffer.mount;

/**
 * One mount to make, as mount(8) or {@code coffer mount} asks for it.
 *
 * @param source {@code fs-XXXXXXXX[:/path]}
 * @param mountpoint the directory to mount on
 * @param options the comma-separated {@code -o} options (may be null)
 * @param fake {@code -f}: check everything, start nothing
 * @param verbose {@code -v}: say what is done
 * @param sloppy {@code -s}: drop unknown options with a warning instead of failing
 */
public record MountRequest(String source, String mountpoint, String options, boolean fake, boolean verbose,
        boolean sloppy) {
}
