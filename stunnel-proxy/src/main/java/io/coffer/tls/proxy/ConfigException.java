package io.coffer.tls.proxy;

/**
 * A proxy configuration was refused. The message starts with where the fault is, as
 * {@code FILE:LINE:} for a configuration file or {@code command line (--option):} for flags.
 */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String source;
    private final int line;

    ConfigException(String source, int line, String message) {
        super(line > 0 ? source + ":" + line + ": " + message : source + ": " + message);
        this.source = source;
        this.line = line;
    }

    /** The file name, or a description such as {@code command line (--verify)}. */
    public String source() {
        return source;
    }

    /** 1-based line number, or 0 when the fault is not on one line. */
    public int line() {
        return line;
    }
}
