package io.coffer.core;

/** File types with their {@code S_IFMT} bits. */
public enum FileType {
    REGULAR(0100000),
    DIRECTORY(0040000),
    SYMLINK(0120000),
    FIFO(0010000),
    SOCKET(0140000),
    CHAR_DEVICE(0020000),
    BLOCK_DEVICE(0060000);

    public static final int S_IFMT = 0170000;

    private final int bits;

    FileType(int bits) {
        this.bits = bits;
    }

    public int bits() {
        return bits;
    }

    public int code() {
        return ordinal();
    }

    public static FileType ofCode(int code) {
        FileType[] all = values();
        if (code < 0 || code >= all.length) {
            throw new IllegalArgumentException("unknown file type code " + code);
        }
        return all[code];
    }

    /** The type encoded in a full {@code st_mode}, or null when the bits name no type. */
    public static FileType ofMode(long mode) {
        int t = (int) (mode & S_IFMT);
        for (FileType ft : values()) {
            if (ft.bits == t) {
                return ft;
            }
        }
        return null;
    }
}
