package io.coffer.kms.kmip;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * One KMIP TTLV item (Tag, Type, Length, Value) and its binary encoding (KMIP 1.x, section 9.1):
 * a 3-byte tag, a 1-byte type, a 4-byte big-endian length of the value, then the value padded
 * with zeros to a multiple of 8 bytes. Integers and enumerations are 4 bytes (padded to 8), long
 * integers and date-times 8, booleans 8 (0 or 1); structures hold their children's encodings.
 *
 * <p>Decoding is strict and bounded: any length, padding, type or nesting error is a
 * {@link TtlvException}, so a hostile or broken server cannot make the client misread a reply.
 */
final class Ttlv {
  static final int STRUCTURE = 0x01;
  static final int INTEGER = 0x02;
  static final int LONG_INTEGER = 0x03;
  static final int BIG_INTEGER = 0x04;
  static final int ENUMERATION = 0x05;
  static final int BOOLEAN = 0x06;
  static final int TEXT_STRING = 0x07;
  static final int BYTE_STRING = 0x08;
  static final int DATE_TIME = 0x09;
  static final int INTERVAL = 0x0A;

  static final int HEADER_LENGTH = 8;
  static final int MAX_DEPTH = 16;

  private final int tag;
  private final int type;
  private final Object value;

  private Ttlv(int tag, int type, Object value) {
    if ((tag & 0xFF000000) != 0) {
      throw new IllegalArgumentException("tags are 3 bytes: " + Integer.toHexString(tag));
    }
    this.tag = tag;
    this.type = type;
    this.value = value;
  }

  static Ttlv structure(int tag, Ttlv... children) {
    return structure(tag, Arrays.asList(children));
  }

  static Ttlv structure(int tag, List<Ttlv> children) {
    for (Ttlv c : children) {
      Objects.requireNonNull(c, "structure child");
    }
    return new Ttlv(tag, STRUCTURE, List.copyOf(children));
  }

  static Ttlv integer(int tag, int v) {
    return new Ttlv(tag, INTEGER, v);
  }

  static Ttlv enumeration(int tag, int v) {
    return new Ttlv(tag, ENUMERATION, v);
  }

  static Ttlv longInteger(int tag, long v) {
    return new Ttlv(tag, LONG_INTEGER, v);
  }

  static Ttlv bool(int tag, boolean v) {
    return new Ttlv(tag, BOOLEAN, v);
  }

  static Ttlv text(int tag, String v) {
    return new Ttlv(tag, TEXT_STRING, Objects.requireNonNull(v));
  }

  static Ttlv bytes(int tag, byte[] v) {
    return new Ttlv(tag, BYTE_STRING, v.clone());
  }

  static Ttlv dateTime(int tag, long epochSeconds) {
    return new Ttlv(tag, DATE_TIME, epochSeconds);
  }

  int tag() {
    return tag;
  }

  int type() {
    return type;
  }

  // ------------------------------------------------------------------ typed access

  @SuppressWarnings("unchecked")
  List<Ttlv> children() throws TtlvException {
    expect(STRUCTURE);
    return Collections.unmodifiableList((List<Ttlv>) value);
  }

  /** The first child with {@code tag}, or {@code null}. */
  Ttlv child(int childTag) throws TtlvException {
    for (Ttlv c : children()) {
      if (c.tag == childTag) {
        return c;
      }
    }
    return null;
  }

  Ttlv require(int childTag) throws TtlvException {
    Ttlv c = child(childTag);
    if (c == null) {
      throw new TtlvException("missing " + hex(childTag) + " in " + hex(tag));
    }
    return c;
  }

  int intValue() throws TtlvException {
    if (type != INTEGER && type != ENUMERATION && type != INTERVAL) {
      throw new TtlvException(hex(tag) + " is type " + type + ", not a 32-bit value");
    }
    return (Integer) value;
  }

  long longValue() throws TtlvException {
    if (type != LONG_INTEGER && type != DATE_TIME) {
      throw new TtlvException(hex(tag) + " is type " + type + ", not a 64-bit value");
    }
    return (Long) value;
  }

  boolean boolValue() throws TtlvException {
    expect(BOOLEAN);
    return (Boolean) value;
  }

  String textValue() throws TtlvException {
    expect(TEXT_STRING);
    return (String) value;
  }

  byte[] bytesValue() throws TtlvException {
    if (type != BYTE_STRING && type != BIG_INTEGER) {
      throw new TtlvException(hex(tag) + " is type " + type + ", not bytes");
    }
    return ((byte[]) value).clone();
  }

  private void expect(int t) throws TtlvException {
    if (type != t) {
      throw new TtlvException(hex(tag) + " is type " + type + ", expected " + t);
    }
  }

  static String hex(int tag) {
    return String.format("0x%06X", tag);
  }

  // ------------------------------------------------------------------ encoding

  byte[] encode() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    encode(out);
    return out.toByteArray();
  }

  @SuppressWarnings("unchecked")
  private void encode(ByteArrayOutputStream out) {
    byte[] v;
    switch (type) {
      case STRUCTURE -> {
        ByteArrayOutputStream inner = new ByteArrayOutputStream();
        for (Ttlv c : (List<Ttlv>) value) {
          c.encode(inner);
        }
        v = inner.toByteArray();
      }
      case INTEGER, ENUMERATION, INTERVAL -> v = ByteBuffer.allocate(4).putInt((Integer) value).array();
      case LONG_INTEGER, DATE_TIME -> v = ByteBuffer.allocate(8).putLong((Long) value).array();
      case BOOLEAN -> v = ByteBuffer.allocate(8).putLong((Boolean) value ? 1 : 0).array();
      case TEXT_STRING -> v = ((String) value).getBytes(StandardCharsets.UTF_8);
      case BYTE_STRING, BIG_INTEGER -> v = (byte[]) value;
      default -> throw new IllegalStateException("unknown type " + type);
    }
    out.write((tag >>> 16) & 0xFF);
    out.write((tag >>> 8) & 0xFF);
    out.write(tag & 0xFF);
    out.write(type);
    out.writeBytes(ByteBuffer.allocate(4).putInt(v.length).array());
    out.writeBytes(v);
    out.writeBytes(new byte[padding(v.length)]);
  }

  static int padding(int length) {
    return (8 - (length % 8)) % 8;
  }

  // ------------------------------------------------------------------ decoding

  /** Decodes exactly one item that fills {@code data}. */
  static Ttlv decode(byte[] data) throws TtlvException {
    ByteBuffer in = ByteBuffer.wrap(data);
    Ttlv item = decode(in, 0);
    if (in.hasRemaining()) {
      throw new TtlvException(in.remaining() + " bytes follow the message");
    }
    return item;
  }

  private static Ttlv decode(ByteBuffer in, int depth) throws TtlvException {
    if (depth > MAX_DEPTH) {
      throw new TtlvException("structures nested deeper than " + MAX_DEPTH);
    }
    if (in.remaining() < HEADER_LENGTH) {
      throw new TtlvException("truncated item header");
    }
    int tag = ((in.get() & 0xFF) << 16) | ((in.get() & 0xFF) << 8) | (in.get() & 0xFF);
    int type = in.get() & 0xFF;
    int length = in.getInt();
    if (length < 0 || length > in.remaining()) {
      throw new TtlvException("item " + hex(tag) + " claims " + Integer.toUnsignedString(length)
          + " bytes, " + in.remaining() + " remain");
    }
    int padded = length + padding(length);
    if (type != STRUCTURE && padded > in.remaining()) {
      throw new TtlvException("item " + hex(tag) + " padding is truncated");
    }
    Ttlv item;
    switch (type) {
      case STRUCTURE -> {
        if (length % 8 != 0) {
          throw new TtlvException("structure " + hex(tag) + " length " + length + " is not a multiple of 8");
        }
        ByteBuffer body = in.slice(in.position(), length);
        in.position(in.position() + length);
        List<Ttlv> children = new ArrayList<>();
        while (body.hasRemaining()) {
          children.add(decode(body, depth + 1));
        }
        return new Ttlv(tag, STRUCTURE, List.copyOf(children));
      }
      case INTEGER, ENUMERATION, INTERVAL -> {
        fixed(tag, length, 4);
        item = new Ttlv(tag, type, in.getInt());
      }
      case LONG_INTEGER, DATE_TIME -> {
        fixed(tag, length, 8);
        item = new Ttlv(tag, type, in.getLong());
      }
      case BOOLEAN -> {
        fixed(tag, length, 8);
        long b = in.getLong();
        if (b != 0 && b != 1) {
          throw new TtlvException("boolean " + hex(tag) + " holds " + b);
        }
        item = new Ttlv(tag, type, b == 1);
      }
      case TEXT_STRING -> {
        byte[] b = new byte[length];
        in.get(b);
        try {
          String s = StandardCharsets.UTF_8.newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(b)).toString();
          item = new Ttlv(tag, type, s);
        } catch (CharacterCodingException e) {
          throw new TtlvException("text " + hex(tag) + " is not UTF-8");
        }
      }
      case BYTE_STRING, BIG_INTEGER -> {
        if (type == BIG_INTEGER && length % 8 != 0) {
          throw new TtlvException("big integer " + hex(tag) + " length is not a multiple of 8");
        }
        byte[] b = new byte[length];
        in.get(b);
        item = new Ttlv(tag, type, b);
      }
      default -> throw new TtlvException("item " + hex(tag) + " has unknown type " + type);
    }
    for (int i = 0; i < padding(length); i++) {
      if (in.get() != 0) {
        throw new TtlvException("item " + hex(tag) + " has non-zero padding");
      }
    }
    return item;
  }

  private static void fixed(int tag, int length, int expected) throws TtlvException {
    if (length != expected) {
      throw new TtlvException("item " + hex(tag) + " has length " + length + ", expected " + expected);
    }
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Ttlv t) || t.tag != tag || t.type != type) {
      return false;
    }
    if (value instanceof byte[] b) {
      return Arrays.equals(b, (byte[]) t.value);
    }
    return value.equals(t.value);
  }

  @Override
  public int hashCode() {
    return Objects.hash(tag, type, value instanceof byte[] b ? Arrays.hashCode(b) : value);
  }

  /** Diagnostic form; byte strings are shown by length only, since they may be key bytes. */
  @Override
  public String toString() {
    if (type == STRUCTURE) {
      return hex(tag) + value;
    }
    if (value instanceof byte[] b) {
      return hex(tag) + "=<" + b.length + " bytes>";
    }
    return hex(tag) + "=" + value;
  }
}
