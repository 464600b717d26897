package io.coffer.kms;

/** The contract against a real SoftHSM2 token through SunPKCS11. */
class Pkcs11KmsContractTest extends KmsContractTest {
  @Override
  String provider() {
    return "pkcs11";
  }

  @Override
  KmsBuilder withProvider(KmsBuilder b) {
    return b.pkcs11(SoftHsmToken.config());
  }
}
