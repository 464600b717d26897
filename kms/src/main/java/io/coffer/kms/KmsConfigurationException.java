package io.coffer.kms;

/** The KMS cannot start or operate because of its configuration: an unsafe root-key file, a wrong passphrase, an unreadable keystore, a provider that cannot be set up. */
public class KmsConfigurationException extends KmsException {
  private static final long serialVersionUID = 1L;

  public KmsConfigurationException(String message) {
    super(message);
  }

  public KmsConfigurationException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public String code() {
    return "Configuration";
  }
}
