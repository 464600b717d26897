package io.coffer.core;

import java.util.List;

/** A page of directory entries; {@code eof} says the directory has no entries after these. */
public record DirListing(List<DirEntry> entries, boolean eof) {
}
