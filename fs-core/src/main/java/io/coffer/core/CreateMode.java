package io.coffer.core;

/** How CREATE treats an existing name: like NFSv3's UNCHECKED and GUARDED ({@code O_EXCL}). */
public enum CreateMode {
    /** Open the existing file if there is one. */
    UNCHECKED,
    /** Fail with EEXIST if the name exists. */
    EXCLUSIVE
}
