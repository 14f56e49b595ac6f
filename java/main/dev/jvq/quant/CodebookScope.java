package dev.jvq.quant;

import dev.jvq.JvqException;
import java.util.Locale;

/** Which matrices share one HAS-VQ codebook. */
public enum CodebookScope {
    /** One codebook per matrix (the paper). */
    MATRIX,
    /** One per projection kind (q, k, v, o, gate, up, down), shared across layers. */
    KIND,
    /** One for the whole model. */
    MODEL;

    public static CodebookScope parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new JvqException("unknown codebook scope '" + s + "': expected matrix, kind or model");
        }
    }

    /** Group key of a matrix; matrices with equal keys share a codebook. */
    String groupOf(String matrixName, String kind) {
        return switch (this) {
            case MATRIX -> "matrix:" + matrixName;
            case KIND -> "kind:" + kind;
            case MODEL -> "model";
        };
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
