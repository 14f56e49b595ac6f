package dev.jvq.rsavq;

/**
 * WCSG channel sensitivity (RSAVQ Algorithm 1): for input channel c, with the Fisher block of the
 * column F_c = F_I[c,c]·F_O and its natural gradient ∇̃L_c = F_c⁻¹ Ḡ[:,c],
 * I_c = ½ ∇̃L_cᵀ F_c ∇̃L_c = ½ Ḡ[:,c]ᵀ F_O⁻¹ Ḡ[:,c] / F_I[c,c], then I_c + 1 so that log2 I_c ≥ 0.
 */
public final class ChannelSensitivity {
    private ChannelSensitivity() {
    }

    /** I_c + 1 for each of the n input channels. */
    public static double[] of(double[] meanGrad, double[] fOut, double[] fIn, int m, int n) {
        NaturalGradient.checkShapes(meanGrad, m, n);
        if (fIn.length != (long) n * n) {
            throw new IllegalArgumentException("F_I has " + fIn.length + " values, expected " + n + "x" + n);
        }
        // With F_O = L Lᵀ: gᵀ F_O⁻¹ g = ‖L⁻¹ g‖², so one forward substitution serves every column.
        Cholesky out = Cholesky.of(fOut, m, "F_O");
        double[] y = meanGrad.clone();
        out.forwardRows(y, n);
        double[] quad = new double[n];
        for (int r = 0; r < m; r++) {
            int row = r * n;
            for (int c = 0; c < n; c++) {
                quad[c] += y[row + c] * y[row + c];
            }
        }
        double[] s = new double[n];
        for (int c = 0; c < n; c++) {
            double fc = fIn[c * n + c];
            if (!(fc > 0) || Double.isInfinite(fc)) {
                throw new IllegalArgumentException("F_I[" + c + "," + c + "] = " + fc + " must be positive");
            }
            s[c] = 0.5 * quad[c] / fc + 1;
        }
        return s;
    }
}
