package io.coffer.core;

/** What {@code statfs} reports. */
public record FsStats(long totalBytes, long freeBytes, long availableBytes, long totalFiles, long freeFiles,
        int blockSize, int maxNameLength) {
}
