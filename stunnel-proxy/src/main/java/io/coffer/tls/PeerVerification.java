package io.coffer.tls;

/**
 * How the peer's certificate is checked, with stunnel's {@code verify} levels as the vocabulary.
 *
 * <p>"Local certificates" are the certificates in the policy's trusted-certificate file (stunnel's
 * {@code CAfile}/{@code CApath}). Levels 3 and 4 pin the peer: its end-entity certificate itself
 * must be among them, not just its issuer.
 */
public enum PeerVerification {
    /** Level 0: request the peer certificate and ignore it. Needs an explicit opt-in on a client. */
    NONE(0),
    /** Level 1: if the peer presents a certificate, its chain must lead to a trusted CA. */
    IF_PRESENT(1),
    /** Level 2: the peer must present a certificate whose chain leads to a trusted CA. */
    CHAIN(2),
    /** Level 3: as {@link #CHAIN}, and the end-entity certificate must also be one of the local certificates. */
    CHAIN_AND_PINNED(3),
    /** Level 4: the chain is not checked; the end-entity certificate must be one of the local certificates. */
    PINNED(4);

    private final int stunnelLevel;

    PeerVerification(int stunnelLevel) {
        this.stunnelLevel = stunnelLevel;
    }

    /** The number stunnel's {@code verify} option uses for this level. */
    public int stunnelLevel() {
        return stunnelLevel;
    }

    /** Whether the peer's chain is validated against trusted CAs (levels 1–3). */
    public boolean verifiesChain() {
        return this == IF_PRESENT || this == CHAIN || this == CHAIN_AND_PINNED;
    }

    /** Whether the peer's end-entity certificate must be one of the local certificates (levels 3–4). */
    public boolean pinsPeer() {
        return this == CHAIN_AND_PINNED || this == PINNED;
    }

    /** Whether a peer without a certificate is refused (levels 2–4). */
    public boolean requiresCertificate() {
        return this == CHAIN || this == CHAIN_AND_PINNED || this == PINNED;
    }

    /** Maps stunnel's {@code verify = N}. */
    public static PeerVerification fromStunnelLevel(int level) {
        for (PeerVerification v : values()) {
            if (v.stunnelLevel == level) {
                return v;
            }
        }
        throw new IllegalArgumentException("verify level must be 0 to 4, not " + level);
    }

    /** Maps stunnel's newer pair of switches {@code verifyChain} and {@code verifyPeer}. */
    public static PeerVerification fromSwitches(boolean verifyChain, boolean verifyPeer) {
        if (verifyChain && verifyPeer) {
            return CHAIN_AND_PINNED;
        }
        if (verifyChain) {
            return CHAIN;
        }
        return verifyPeer ? PINNED : NONE;
    }
}
