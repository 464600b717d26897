package io.coffer.kms;

/** The contract against the embedded local keystore. */
class LocalKmsContractTest extends KmsContractTest {
  @Override
  String provider() {
    return "local";
  }

  @Override
  KmsBuilder withProvider(KmsBuilder b) {
    return b;
  }
}
