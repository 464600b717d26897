package io.coffer.kms.kmip;

/** A KMIP message that does not follow the TTLV encoding or the expected layout. */
final class TtlvException extends Exception {
  private static final long serialVersionUID = 1L;

  TtlvException(String message) {
    super(message);
  }
}
