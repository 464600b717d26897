package io.coffer.core;

import io.coffer.core.status.InvalException;
import java.util.regex.Pattern;

/** The id of one file system, shown to users as {@code fs-} and 8 lower-case hex digits. */
public record FileSystemId(int value) implements Comparable<FileSystemId> {
    private static final Pattern FORM = Pattern.compile("fs-[0-9a-f]{8}");

    /**
     * Parses {@code fs-1a2b3c4d}.
     *
     * @throws InvalException if the text is not of that form
     */
    public static FileSystemId parse(String text) throws InvalException {
        if (text == null || !FORM.matcher(text).matches()) {
            throw new InvalException("not a file system id (expected fs- and 8 hex digits): " + text);
        }
        return new FileSystemId(Integer.parseUnsignedInt(text.substring(3), 16));
    }

    public static boolean isValid(String text) {
        return text != null && FORM.matcher(text).matches();
    }

    @Override
    public String toString() {
        return String.format("fs-%08x", value);
    }

    @Override
    public int compareTo(FileSystemId o) {
        return Integer.compareUnsigned(value, o.value);
    }
}
