package io.coffer.core;

/**
 * Reply to a WRITE: how many bytes were taken, whether they are already stable, and the
 * server's write verifier. A client keeps unstable data until a COMMIT returns the same verifier;
 * a different verifier means the server restarted and may have lost it.
 */
public record WriteResult(int count, boolean stable, long verifier, FileAttributes attributes) {
}
