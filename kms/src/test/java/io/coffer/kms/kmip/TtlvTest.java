package io.coffer.kms.kmip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** TTLV encoding against the examples in KMIP 1.2 section 9.1.2, and strict decoding. */
class TtlvTest {
  static byte[] hex(String s) {
    return HexFormat.of().parseHex(s.replace(" ", "").replace("|", ""));
  }

  @Test
  void specificationExamples() throws Exception {
    // An Integer containing the decimal value 8.
    assertArrayEquals(hex("42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00"),
        Ttlv.integer(0x420020, 8).encode());
    // A Long Integer containing 123456789000000000.
    assertArrayEquals(hex("42 00 20 | 03 | 00 00 00 08 | 01 B6 9B 4B A5 74 92 00"),
        Ttlv.longInteger(0x420020, 123456789000000000L).encode());
    // An Enumeration with value 255.
    assertArrayEquals(hex("42 00 20 | 05 | 00 00 00 04 | 00 00 00 FF 00 00 00 00"),
        Ttlv.enumeration(0x420020, 255).encode());
    // A Boolean with the value True.
    assertArrayEquals(hex("42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 01"),
        Ttlv.bool(0x420020, true).encode());
    // A Text String with the value "Hello World".
    assertArrayEquals(hex("42 00 20 | 07 | 00 00 00 0B | 48 65 6C 6C 6F 20 57 6F 72 6C 64 00 00 00 00 00"),
        Ttlv.text(0x420020, "Hello World").encode());
    // A Byte String with the value { 0x01, 0x02, 0x03 }.
    assertArrayEquals(hex("42 00 20 | 08 | 00 00 00 03 | 01 02 03 00 00 00 00 00"),
        Ttlv.bytes(0x420020, new byte[] {1, 2, 3}).encode());
    // A Date-Time, containing the value for Friday, March 14, 2008, 11:56:40 GMT.
    assertArrayEquals(hex("42 00 20 | 09 | 00 00 00 08 | 00 00 00 00 47 DA 67 F8"),
        Ttlv.dateTime(0x420020, 0x47DA67F8L).encode());
    // A Structure containing an Enumeration, value 254, followed by an Integer, value 255,
    // having tags 420004 and 420005 respectively.
    byte[] structure = hex("42 00 20 | 01 | 00 00 00 20 | 42 00 04 | 05 | 00 00 00 04 | 00 00 00 FE 00 00 00 00"
        + "| 42 00 05 | 02 | 00 00 00 04 | 00 00 00 FF 00 00 00 00");
    Ttlv s = Ttlv.structure(0x420020, Ttlv.enumeration(0x420004, 254), Ttlv.integer(0x420005, 255));
    assertArrayEquals(structure, s.encode());
    assertEquals(s, Ttlv.decode(structure));
    assertEquals(255, Ttlv.decode(structure).require(0x420005).intValue());
  }

  @Test
  void roundTripsEveryType() throws Exception {
    Ttlv msg = Ttlv.structure(0x420078,
        Ttlv.text(0x420094, "uid-ü"),
        Ttlv.bytes(0x4200C2, new byte[17]),
        Ttlv.bool(0x420008, false),
        Ttlv.structure(0x42002B),
        Ttlv.longInteger(0x420020, -1L));
    assertEquals(msg, Ttlv.decode(msg.encode()));
  }

  @Test
  void malformedInputIsRejected() {
    byte[] good = Ttlv.bytes(0x420020, new byte[] {1, 2, 3}).encode();
    byte[] badPadding = good.clone();
    badPadding[15] = 1;
    byte[] longLength = good.clone();
    longLength[7] = 0x20;
    byte[] negativeLength = good.clone();
    negativeLength[4] = (byte) 0x80;
    byte[] intWrongLength = hex("42 00 20 | 02 | 00 00 00 08 | 00 00 00 08 00 00 00 00");
    byte[] boolTwo = hex("42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 02");
    byte[] unknownType = hex("42 00 20 | 0F | 00 00 00 04 | 00 00 00 08 00 00 00 00");
    byte[] structureOdd = hex("42 00 20 | 01 | 00 00 00 04 | 00 00 00 08");
    byte[] badUtf8 = hex("42 00 20 | 07 | 00 00 00 01 | FF 00 00 00 00 00 00 00");
    byte[] trailing = hex("42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00 | 00");
    for (byte[] bad : new byte[][] {new byte[0], new byte[7], badPadding, longLength, negativeLength, intWrongLength,
        boolTwo, unknownType, structureOdd, badUtf8, trailing, java.util.Arrays.copyOf(good, 12)}) {
      assertThrows(TtlvException.class, () -> Ttlv.decode(bad));
    }
    Ttlv deep = Ttlv.integer(0x420001, 1);
    for (int i = 0; i < 20; i++) {
      deep = Ttlv.structure(0x420002, deep);
    }
    byte[] deepBytes = deep.encode();
    assertThrows(TtlvException.class, () -> Ttlv.decode(deepBytes));
  }

  @Test
  void aFailedResponseCarriesTheReason() throws Exception {
    byte[] response = Ttlv.structure(Kmip.RESPONSE_MESSAGE,
        Ttlv.structure(Kmip.RESPONSE_HEADER,
            Ttlv.structure(Kmip.PROTOCOL_VERSION, Ttlv.integer(Kmip.PROTOCOL_VERSION_MAJOR, 1),
                Ttlv.integer(Kmip.PROTOCOL_VERSION_MINOR, 2)),
            Ttlv.dateTime(0x420092, 0),
            Ttlv.integer(Kmip.BATCH_COUNT, 1)),
        Ttlv.structure(Kmip.BATCH_ITEM,
            Ttlv.enumeration(Kmip.OPERATION, Kmip.OP_DESTROY),
            Ttlv.enumeration(Kmip.RESULT_STATUS, 1),
            Ttlv.enumeration(Kmip.RESULT_REASON, Kmip.REASON_ITEM_NOT_FOUND),
            Ttlv.text(Kmip.RESULT_MESSAGE, "no such object"))).encode();
    KmipResultException e = assertThrows(KmipResultException.class, () -> KmipClient.parseResponse(Kmip.OP_DESTROY, response));
    assertEquals(Kmip.REASON_ITEM_NOT_FOUND, e.reason());
    assertThrows(TtlvException.class, () -> KmipClient.parseResponse(Kmip.OP_CREATE, response));
  }
}
