package io.coffer.core;

/** A handle with its attributes, as returned by LOOKUP, CREATE, MKDIR and friends. */
public record Entry(FileHandle handle, FileAttributes attributes) {
}
