package io.coffer.bench.meta;

/** One key/value write; every metadata mutation in this benchmark is a list of these. */
record Put(byte[] key, byte[] value) {
}
