package dev.jvq.rsavq;

/**
 * The K-FAC natural gradient of one linear layer, Ñ = F_O⁻¹ Ḡ F_I⁻¹ (RSAVQ.md): Ḡ [m x n] the mean
 * calibration gradient, F_O [m x m] and F_I [n x n] the damped Kronecker factors of the Fisher.
 * No inverse is formed: two Cholesky factorisations and triangular solves, all in float64.
 */
public final class NaturalGradient {
    private NaturalGradient() {
    }

    /**
     * Ñ [m x n] row-major. If {@code rmsTarget > 0} Ñ is rescaled so its RMS equals it (RSAVQ.md
     * (R): the RMS of W, so that one λ works for every layer); 0 leaves it unscaled. An all-zero Ñ
     * stays zero.
     */
    public static double[] compute(double[] meanGrad, double[] fOut, double[] fIn, int m, int n, double rmsTarget) {
        checkShapes(meanGrad, m, n);
        if (!(rmsTarget >= 0) || Double.isInfinite(rmsTarget)) {
            throw new IllegalArgumentException("natural-gradient RMS target " + rmsTarget + " must be finite and ≥ 0");
        }
        Cholesky out = Cholesky.of(fOut, m, "F_O");
        Cholesky in = Cholesky.of(fIn, n, "F_I");
        // X = F_O⁻¹ Ḡ, column-wise solves done on rows of the [m x n] matrix.
        double[] x = meanGrad.clone();
        out.solveRows(x, n);
        // Ñ = X F_I⁻¹, i.e. Ñᵀ = F_I⁻¹ Xᵀ (F_I symmetric): solve on the transpose, then transpose back.
        double[] xt = transpose(x, m, n);
        in.solveRows(xt, m);
        double[] nat = transpose(xt, n, m);
        if (rmsTarget > 0) {
            double sq = 0;
            for (double v : nat) {
                sq += v * v;
            }
            double rms = Math.sqrt(sq / nat.length);
            if (rms > 0) {
                double scale = rmsTarget / rms;
                for (int i = 0; i < nat.length; i++) {
                    nat[i] *= scale;
                }
            }
        }
        return nat;
    }

    static void checkShapes(double[] meanGrad, int m, int n) {
        if (m < 1 || n < 1 || meanGrad.length != (long) m * n) {
            throw new IllegalArgumentException("mean gradient has " + meanGrad.length + " values, expected " + m + "x" + n);
        }
    }

    static double[] transpose(double[] a, int rows, int cols) {
        double[] t = new double[a.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = a[i * cols + j];
            }
        }
        return t;
    }
}
