package io.coffer.core;

/** Byte-range lock type; UNLOCK releases the range. */
public enum LockType {
    READ, WRITE, UNLOCK
}
