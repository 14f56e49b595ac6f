package dev.jvq.train;

import dev.jvq.backend.Backend;
import dev.jvq.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The three row-major matrix products of a linear layer's forward and backward pass, in float64
 * loops or in f32 on a backend. Operands are double arrays either way, so the caller's code does not
 * depend on the precision; the f32 path rounds its inputs to f32 and widens the result.
 */
final class MatrixProducts {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private final Precision precision;
    private final Backend backend;

    MatrixProducts(Precision precision, Backend backend) {
        this.precision = precision;
        this.backend = backend;
    }

    /** Y[t x m] = X[t x n] Wᵀ, W [m x n]: the forward product. */
    double[] forward(double[] x, double[] w, int t, int m, int n) {
        if (precision == Precision.F64) {
            double[] y = new double[t * m];
            for (int i = 0; i < t; i++) {
                for (int r = 0; r < m; r++) {
                    double s = 0;
                    for (int j = 0; j < n; j++) {
                        s += x[i * n + j] * w[r * n + j];
                    }
                    y[i * m + r] = s;
                }
            }
            return y;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment y = a.allocate(4L * t * m, 64);
            backend.gemm(DType.F32, floats(a, w), floats(a, x), y, t, m, n);
            return doubles(y, t * m);
        }
    }

    /** dX[t x n] = dY[t x m] W, W [m x n]: the gradient of a linear layer's input. */
    double[] inputGradient(double[] dy, double[] w, int t, int m, int n) {
        if (precision == Precision.F64) {
            double[] dx = new double[t * n];
            for (int i = 0; i < t; i++) {
                for (int r = 0; r < m; r++) {
                    double g = dy[i * m + r];
                    for (int j = 0; j < n; j++) {
                        dx[i * n + j] += g * w[r * n + j];
                    }
                }
            }
            return dx;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment dx = a.allocate(4L * t * n, 64);
            backend.sgemm(floats(a, dy), floats(a, w), dx, t, n, m, false);
            return doubles(dx, t * n);
        }
    }

    /** dW[m x n] = dY[t x m]ᵀ X[t x n]: the gradient of a linear layer's weight. */
    double[] weightGradient(double[] dy, double[] x, int t, int m, int n) {
        if (precision == Precision.F64) {
            double[] dw = new double[m * n];
            for (int i = 0; i < t; i++) {
                for (int r = 0; r < m; r++) {
                    double g = dy[i * m + r];
                    for (int j = 0; j < n; j++) {
                        dw[r * n + j] += g * x[i * n + j];
                    }
                }
            }
            return dw;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment dyT = a.allocate(4L * t * m, 64);
            for (int i = 0; i < t; i++) {
                for (int r = 0; r < m; r++) {
                    dyT.setAtIndex(F32, (long) r * t + i, (float) dy[i * m + r]);
                }
            }
            MemorySegment dw = a.allocate(4L * m * n, 64);
            backend.sgemm(dyT, floats(a, x), dw, m, n, t, false);
            return doubles(dw, m * n);
        }
    }

    private static MemorySegment floats(Arena a, double[] v) {
        MemorySegment s = a.allocate(4L * v.length, 64);
        for (int i = 0; i < v.length; i++) {
            s.setAtIndex(F32, i, (float) v[i]);
        }
        return s;
    }

    private static double[] doubles(MemorySegment s, int n) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = s.getAtIndex(F32, i);
        }
        return d;
    }
}
