package dev.jvq.format;

import java.util.Locale;

/**
 * What an unquantised tensor is to the model; bit accounting needs it (embeddings are not counted
 * in the paper's BPP, the output head is counted at 16 bits).
 */
public enum TensorRole {
    /** Token embedding table. */
    EMBEDDING("embedding"),
    /** Output head (lm_head / classifier). */
    HEAD("head"),
    /** Token embedding that also serves as the output head (tied weights): counted once, as the head. */
    EMBEDDING_AND_HEAD("embedding+head"),
    /** A block linear left unquantised (counted at 16 bits). */
    LINEAR("linear"),
    /** RMSNorm weights. */
    NORM("norm"),
    /** Anything else (biases, tables). */
    OTHER("other");

    public final String label;

    TensorRole(String label) {
        this.label = label;
    }

    public boolean isHead() {
        return this == HEAD || this == EMBEDDING_AND_HEAD;
    }

    /** The role for a label, or null. */
    public static TensorRole ofLabel(String label) {
        for (TensorRole r : values()) {
            if (r.label.equals(label.toLowerCase(Locale.ROOT))) {
                return r;
            }
        }
        return null;
    }
}
