package io.coffer.core;

import java.util.UUID;

/** A request's identity for the duplicate-request cache: the client's session id and its xid. */
public record RequestId(UUID client, long xid) {
}
