package io.coffer.server.crypto;

import io.coffer.kms.InvalidCiphertextException;
import io.coffer.kms.KmsException;
import io.coffer.kms.KmsProvider;
import io.coffer.kms.KmsUnavailableException;
import io.coffer.kms.NotFoundException;
import io.coffer.kms.ProviderKeyRef;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * An in-memory KMS provider for unit tests that stands in for a remote key service: it can be
 * made unreachable, or made to hold a decrypt call until released.
 */
final class TestProvider implements KmsProvider {
    private final String scheme;
    private final Map<String, byte[]> keys = new ConcurrentHashMap<>();
    private final SecureRandom random = new SecureRandom();
    volatile boolean unavailable;
    volatile CountDownLatch block;
    final CountDownLatch entered = new CountDownLatch(1);

    TestProvider(String scheme) {
        this.scheme = scheme;
    }

    @Override
    public String scheme() {
        return scheme;
    }

    @Override
    public String createKeyMaterial(UUID keyId, int version) throws KmsException {
        check();
        byte[] k = new byte[32];
        random.nextBytes(k);
        String handle = keyId + "/" + version;
        keys.put(handle, k);
        return handle;
    }

    private void check() throws KmsUnavailableException {
        if (unavailable) {
            throw new KmsUnavailableException("test provider " + scheme + " is unreachable (connection refused)");
        }
    }

    private byte[] key(ProviderKeyRef ref) throws NotFoundException {
        byte[] k = keys.get(ref.handle());
        if (k == null) {
            throw new NotFoundException("no material " + ref.handle());
        }
        return k;
    }

    @Override
    public byte[] encrypt(ProviderKeyRef ref, byte[] plaintext, byte[] aad) throws KmsException {
        check();
        try {
            byte[] iv = new byte[12];
            random.nextBytes(iv);
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key(ref), "AES"), new GCMParameterSpec(128, iv));
            c.updateAAD(aad);
            byte[] ct = c.doFinal(plaintext);
            byte[] out = Arrays.copyOf(iv, 12 + ct.length);
            System.arraycopy(ct, 0, out, 12, ct.length);
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public byte[] decrypt(ProviderKeyRef ref, byte[] ciphertext, byte[] aad) throws KmsException {
        CountDownLatch b = block;
        if (b != null) {
            entered.countDown();
            try {
                b.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KmsUnavailableException("interrupted");
            }
        }
        check();
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key(ref), "AES"), new GCMParameterSpec(128, ciphertext, 0, 12));
            c.updateAAD(aad);
            return c.doFinal(ciphertext, 12, ciphertext.length - 12);
        } catch (GeneralSecurityException e) {
            throw new InvalidCiphertextException("test provider: authentication failed");
        }
    }

    @Override
    public void destroyKeyMaterial(ProviderKeyRef ref) {
        keys.remove(ref.handle());
    }

    @Override
    public void close() {
    }
}
