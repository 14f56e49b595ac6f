package dev.jvq.rsavq;

import dev.jvq.JvqException;
import java.util.Locale;

/** Which channel sensitivity WCSG ranks and allocates by. */
public enum Sensitivity {
    /** RSAVQ Algorithm 1: I_c = ½ Ḡ[:,c]ᵀ F_O⁻¹ Ḡ[:,c] / F_I[c,c] + 1 ({@link ChannelSensitivity}). */
    PAPER,
    /**
     * (R, an alternative to measure) the loss a quantisation error proportional to the channel's
     * weights costs under the diagonal of the Kronecker Fisher: I_c ∝ F_I[c,c]·Σ_r F_O[r,r]·W[r,c]²,
     * divided by the smallest positive value so that every I_c ≥ 1 (only ratios matter to reverse
     * water-filling; the paper rule sees log2 of the ratio to the least sensitive channel). Unlike
     * the paper's form it does not vanish when the mean gradient does, as it does at a minimum of
     * the loss.
     */
    FISHER;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Sensitivity parse(String s) {
        for (Sensitivity v : values()) {
            if (v.id().equalsIgnoreCase(s.strip())) {
                return v;
            }
        }
        throw new JvqException("sensitivity '" + s + "': expected paper or fisher");
    }

    /** Sensitivity ≥ 1 of each of the n input channels of W [m x n] (row-major f32). */
    public double[] of(float[] w, double[] meanGrad, double[] fOut, double[] fIn, int m, int n) {
        if (this == PAPER) {
            return ChannelSensitivity.of(meanGrad, fOut, fIn, m, n);
        }
        double[] s = new double[n];
        for (int r = 0; r < m; r++) {
            double fr = fOut[r * m + r];
            for (int c = 0; c < n; c++) {
                double v = w[r * n + c];
                s[c] += fr * v * v;
            }
        }
        double min = Double.POSITIVE_INFINITY;
        for (int c = 0; c < n; c++) {
            s[c] *= fIn[c * n + c];
            if (s[c] > 0) {
                min = Math.min(min, s[c]);
            }
        }
        for (int c = 0; c < n; c++) {
            s[c] = Double.isInfinite(min) ? 1 : Math.max(1, s[c] / min);
        }
        return s;
    }
}
