package io.coffer.server.crypto;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.engines.AESEngine;
import org.bouncycastle.crypto.modes.GCMBlockCipher;
import org.bouncycastle.crypto.modes.GCMModeCipher;
import org.bouncycastle.crypto.params.AEADParameters;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * Throughput of AES-256-GCM chunk sealing and opening on one thread, per provider and chunk
 * size, the way the server seals chunks (a fresh 96-bit nonce per chunk, 32 bytes of associated
 * data, heap buffers). The numbers behind docs/adr/0002-chunk-cipher.md; run it on each JDK
 * (the command is in the ADR). Not a unit test: nothing runs it during the build.
 *
 * <p>Arguments: {@code [warmupSeconds [rounds [roundSeconds]]]}, default 3, 5 and 1. Every
 * configuration is warmed up, then all are measured in interleaved rounds; the median and the
 * spread of the rounds are printed.
 */
public final class ChunkCipherBench {
    private static final int[] SIZES = {4 * 1024, 16 * 1024, 64 * 1024};
    private static final int TAG_BITS = 128;
    private static long sink;

    private ChunkCipherBench() {
    }

    /** One AES-GCM implementation: seal {@code len} bytes of {@code in} into {@code out}, or open them. */
    interface Gcm {
        int seal(byte[] nonce, byte[] aad, byte[] in, int len, byte[] out) throws Exception;

        int open(byte[] nonce, byte[] aad, byte[] in, int len, byte[] out) throws Exception;
    }

    /**
     * Through the JCA with byte arrays, the call every provider implements natively (Conscrypt
     * serves heap ByteBuffers through the JCA's generic copying path, which would measure the
     * copying rather than the cipher).
     */
    static Gcm jca(Provider provider, byte[] key) throws GeneralSecurityException {
        Cipher c = provider == null ? Cipher.getInstance("AES/GCM/NoPadding")
                : Cipher.getInstance("AES/GCM/NoPadding", provider);
        SecretKeySpec k = new SecretKeySpec(key, "AES");
        return new Gcm() {
            @Override
            public int seal(byte[] nonce, byte[] aad, byte[] in, int len, byte[] out) throws Exception {
                c.init(Cipher.ENCRYPT_MODE, k, new GCMParameterSpec(TAG_BITS, nonce));
                c.updateAAD(aad);
                return c.doFinal(in, 0, len, out, 0);
            }

            @Override
            public int open(byte[] nonce, byte[] aad, byte[] in, int len, byte[] out) throws Exception {
                c.init(Cipher.DECRYPT_MODE, k, new GCMParameterSpec(TAG_BITS, nonce));
                c.updateAAD(aad);
                return c.doFinal(in, 0, len, out, 0);
            }
        };
    }

    /** Through the JCA with heap ByteBuffers, exactly as AesGcmCipher seals and opens chunks. */
    static Gcm jcaBuffers(Provider provider, byte[] key) throws GeneralSecurityException {
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding", provider);
        SecretKeySpec k = new SecretKeySpec(key, "AES");
        return new Gcm() {
            @Override
            public int seal(byte[] nonce, byte[] aad, byte[] in, int len, byte[] out) throws Exception {
                c.init(Cipher.ENCRYPT_MODE, k, new GCMParameterSpec(TAG_BITS, nonce));
                c.updateAAD(aad);
                return c.doFinal(ByteBuffer.wrap(in, 0, len), ByteBuffer.wrap(out));
            }

            @Override
            public int open(byte[] nonce, byte[] aad, byte[] in, int len, byte[] out) throws Exception {
                c.init(Cipher.DECRYPT_MODE, k, new GCMParameterSpec(TAG_BITS, nonce));
                c.updateAAD(aad);
                return c.doFinal(ByteBuffer.wrap(in, 0, len), ByteBuffer.wrap(out));
            }
        };
    }

    /** BouncyCastle's own GCM (the lightweight API, no JCA in between). */
    static Gcm bouncyCastle(byte[] key) {
        GCMModeCipher gcm = GCMBlockCipher.newInstance(AESEngine.newInstance());
        KeyParameter k = new KeyParameter(key);
        return new Gcm() {
            private int run(boolean encrypt, byte[] nonce, byte[] aad, byte[] in, int len, byte[] out)
                    throws InvalidCipherTextException {
                gcm.init(encrypt, new AEADParameters(k, TAG_BITS, nonce, aad));
                int n = gcm.processBytes(in, 0, len, out, 0);
                return n + gcm.doFinal(out, n);
            }

            @Override
            public int seal(byte[] nonce, byte[] aad, byte[] in, int len, byte[] out) throws Exception {
                return run(true, nonce, aad, in, len, out);
            }

            @Override
            public int open(byte[] nonce, byte[] aad, byte[] in, int len, byte[] out) throws Exception {
                return run(false, nonce, aad, in, len, out);
            }
        };
    }

    static double measure(Gcm g, boolean seal, int size, double seconds, byte[] key, SecureRandom rnd) throws Exception {
        byte[] plain = new byte[size];
        rnd.nextBytes(plain);
        byte[] aad = new byte[32];
        rnd.nextBytes(aad);
        byte[] sealed = new byte[size + 16];
        byte[] out = new byte[size + 16];
        byte[] nonce = new byte[12];
        rnd.nextBytes(nonce);
        int sealedLen = g.seal(nonce, aad, plain, size, sealed);
        long counter = 0;
        long bytes = 0;
        long end = System.nanoTime() + (long) (seconds * 1e9);
        long start = System.nanoTime();
        long now;
        do {
            for (int i = 0; i < 16; i++) {
                if (seal) {
                    // A fresh nonce per chunk, as the server does (the JDK refuses to reuse one for encryption).
                    ByteBuffer.wrap(nonce, 4, 8).putLong(++counter);
                    sink += g.seal(nonce, aad, plain, size, out);
                } else {
                    sink += g.open(nonce, aad, sealed, sealedLen, out);
                }
                bytes += size;
            }
            now = System.nanoTime();
        } while (now < end);
        sink += out[0];
        return bytes / ((now - start) / 1e9) / 1e9;
    }

    static String cpu() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("model name")) {
                    return l.substring(l.indexOf(':') + 1).trim();
                }
            }
        } catch (Exception e) {
            return "unknown";
        }
        return "unknown";
    }

    static String load() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (Exception e) {
            return "unknown";
        }
    }

    public static void main(String[] args) throws Exception {
        double warmup = args.length > 0 ? Double.parseDouble(args[0]) : 3;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        double roundSeconds = args.length > 2 ? Double.parseDouble(args[2]) : 1;
        SecureRandom rnd = new SecureRandom();
        byte[] key = new byte[32];
        rnd.nextBytes(key);

        List<String> names = new ArrayList<>();
        List<Gcm> impls = new ArrayList<>();
        names.add("SunJCE");
        impls.add(jca(java.security.Security.getProvider("SunJCE"), key));
        names.add("SunJCE, heap ByteBuffers (AesGcmCipher's calls)");
        impls.add(jcaBuffers(java.security.Security.getProvider("SunJCE"), key));
        try {
            Provider conscrypt = org.conscrypt.Conscrypt.newProvider();
            names.add("Conscrypt " + org.conscrypt.Conscrypt.version().major() + "."
                    + org.conscrypt.Conscrypt.version().minor() + "." + org.conscrypt.Conscrypt.version().patch());
            impls.add(jca(conscrypt, key));
        } catch (Throwable t) {
            System.out.println("Conscrypt unavailable on this JVM: " + t);
        }
        names.add("BouncyCastle GCMBlockCipher");
        impls.add(bouncyCastle(key));

        // Each implementation must open what SunJCE sealed (same key, nonce and associated data).
        byte[] nonce = new byte[12];
        byte[] aad = new byte[32];
        byte[] plain = new byte[1000];
        rnd.nextBytes(plain);
        byte[] sealed = new byte[1016];
        impls.get(0).seal(nonce, aad, plain, plain.length, sealed);
        for (int i = 0; i < impls.size(); i++) {
            byte[] back = new byte[1016];
            int n = impls.get(i).open(nonce, aad, sealed, sealed.length, back);
            if (n != plain.length || !Arrays.equals(plain, Arrays.copyOf(back, n))) {
                throw new IllegalStateException(names.get(i) + " does not interoperate with SunJCE");
            }
        }

        System.out.printf("JVM %s %s; CPU %s; %d cores; load at start %s%n", System.getProperty("java.vm.vendor"),
                Runtime.version(), cpu(), Runtime.getRuntime().availableProcessors(), load());
        System.out.printf("warm-up %.1f s per configuration, then %d rounds of %.1f s, each round visiting every "
                + "configuration in turn; GB/s = 10^9 bytes of plaintext per second, one thread%n",
                warmup, rounds, roundSeconds);
        // Every configuration is warmed up before any is measured (the JIT compiles the shared
        // intrinsics once), and the rounds are interleaved, so a burst of load from elsewhere on
        // the machine spreads over all configurations instead of landing on one.
        int configs = impls.size() * SIZES.length * 2;
        for (int c = 0; c < configs; c++) {
            measure(impls.get(c / (SIZES.length * 2)), c % 2 == 0, SIZES[(c / 2) % SIZES.length], warmup, key, rnd);
        }
        double[][] results = new double[configs][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int c = 0; c < configs; c++) {
                results[c][r] = measure(impls.get(c / (SIZES.length * 2)), c % 2 == 0, SIZES[(c / 2) % SIZES.length],
                        roundSeconds, key, rnd);
            }
        }
        System.out.println("| provider | chunk | seal GB/s (median, min–max) | open GB/s (median, min–max) |");
        System.out.println("| --- | ---: | ---: | ---: |");
        for (int c = 0; c < configs; c += 2) {
            String[] cells = new String[2];
            for (int op = 0; op < 2; op++) {
                double[] r = results[c + op].clone();
                Arrays.sort(r);
                cells[op] = String.format(Locale.ROOT, "%.2f (%.2f–%.2f)", r[rounds / 2], r[0], r[rounds - 1]);
            }
            System.out.printf("| %s | %d KiB | %s | %s |%n", names.get(c / (SIZES.length * 2)),
                    SIZES[(c / 2) % SIZES.length] / 1024, cells[0], cells[1]);
        }
        System.out.printf("load at end %s (sink %d)%n", load(), sink);
    }
}
