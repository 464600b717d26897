package io.coffer.core;

import io.netty.buffer.ByteBuf;

/**
 * Reply to a READ. The caller owns {@code data} and must release it. {@code eof} is true when
 * the read reached the end of the file.
 */
public record ReadResult(ByteBuf data, boolean eof, FileAttributes attributes) {
}
