package io.coffer.server.rpc;

import java.io.IOException;

/** Runs administrative commands ({@code fs-create}, {@code kms-create-key}, ...) sent as JSON. */
public interface AdminService {
    /**
     * @param command the command name
     * @param json its arguments, a JSON object
     * @param caller the principal asking, for audit
     * @return the result, a JSON value
     */
    String handle(String command, String json, String caller) throws IOException;
}
