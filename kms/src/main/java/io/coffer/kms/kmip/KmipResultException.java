package io.coffer.kms.kmip;

/** The KMIP server answered an operation with a failure status. */
final class KmipResultException extends Exception {
  private static final long serialVersionUID = 1L;
  private final int reason;

  KmipResultException(int operation, int reason, String message) {
    super("KMIP operation 0x" + Integer.toHexString(operation) + " failed (reason 0x" + Integer.toHexString(reason)
        + "): " + message);
    this.reason = reason;
  }

  /** The Result Reason enumeration value, or -1 if the server gave none. */
  int reason() {
    return reason;
  }
}
