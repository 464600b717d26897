package io.coffer.core;

/**
 * Turns the result of a non-idempotent operation into the reply bytes that the server keeps in
 * its duplicate-request cache. The server writes them in the same transaction as the operation,
 * so a retransmission after a crash gets the original answer, never a second application.
 */
@FunctionalInterface
public interface ReplyRecorder {
    /** Encodes {@code result} (the value the operation is about to return) as a reply body. */
    byte[] encode(Object result);
}
