package io.coffer.core;

/**
 * Everything about one operation that is not its arguments.
 *
 * @param credentials the caller's uid/gid/groups, after any squashing the server applied
 * @param principal who is behind the connection (a certificate identity, or {@code loopback}), for logs and audit
 * @param request the request's identity, or null when the call did not come over the protocol
 * @param recorder encodes the reply for the duplicate-request cache, or null to keep none
 */
public record OpContext(Credentials credentials, String principal, RequestId request, ReplyRecorder recorder) {
    public static OpContext of(Credentials credentials) {
        return new OpContext(credentials, "local", null, null);
    }

    public static OpContext root() {
        return of(Credentials.ROOT);
    }
}
