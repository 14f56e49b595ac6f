package dev.jvq.train;

import dev.jvq.backend.Backend;
import dev.jvq.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.IntStream;

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

    /** Side of the register block of the Gram kernel: 4 x 4 sums held in locals. */
    private static final int GRAM_BLOCK = 4;

    /**
     * acc [n x n] += GᵀG for G [m x n] row-major, in float64, exactly symmetric: the row Gram of Gᵀ,
     * whose rows (the columns of G) are contiguous after one transpose.
     */
    static void addColumnGram(double[] acc, double[] g, int m, int n) {
        if (g.length != (long) m * n) {
            throw new IllegalArgumentException("Gram of " + g.length + " values as " + m + "x" + n);
        }
        addRowGram(acc, transpose(g, m, n), n, m);
    }

    /**
     * acc [count x count] += A Aᵀ for A [count x len] row-major, in float64, exactly symmetric. Entry
     * (a, b), b ≥ a, is the dot product of rows a and b summed left to right from zero, then added to
     * acc[a,b] and mirrored to acc[b,a]: bit-identical to a plain triple loop, whatever the thread
     * count. The upper triangle is cut into 4 x 4 blocks (16 independent sums per pass over len, 8
     * loads for 16 multiply-adds); strips of 4 rows run in parallel and write disjoint entries.
     */
    static void addRowGram(double[] acc, double[] a, int count, int len) {
        if (a.length != (long) count * len || acc.length != (long) count * count) {
            throw new IllegalArgumentException("Gram of " + a.length + " values as " + count + "x" + len + " into "
                    + acc.length);
        }
        int strips = (count + GRAM_BLOCK - 1) / GRAM_BLOCK;
        IntStream stream = IntStream.range(0, strips);
        if ((long) count * count * len > 1 << 20) {
            stream = stream.parallel();
        }
        stream.forEach(s -> gramStrip(acc, a, count, len, s * GRAM_BLOCK));
    }

    private static void gramStrip(double[] acc, double[] a, int count, int len, int r0) {
        for (int c0 = r0; c0 < count; c0 += GRAM_BLOCK) {
            if (r0 + GRAM_BLOCK <= count && c0 + GRAM_BLOCK <= count) {
                gramBlock(acc, a, count, len, r0, c0);
            } else {
                for (int r = r0; r < Math.min(count, r0 + GRAM_BLOCK); r++) {
                    for (int c = Math.max(c0, r); c < Math.min(count, c0 + GRAM_BLOCK); c++) {
                        double s = 0;
                        for (int k = 0; k < len; k++) {
                            s += a[r * len + k] * a[c * len + k];
                        }
                        store(acc, count, r, c, s);
                    }
                }
            }
        }
    }

    private static void gramBlock(double[] acc, double[] a, int count, int len, int r0, int c0) {
        int x0 = r0 * len;
        int x1 = x0 + len;
        int x2 = x1 + len;
        int x3 = x2 + len;
        int y0 = c0 * len;
        int y1 = y0 + len;
        int y2 = y1 + len;
        int y3 = y2 + len;
        double s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
        double s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
        for (int k = 0; k < len; k++) {
            double u0 = a[x0 + k];
            double u1 = a[x1 + k];
            double u2 = a[x2 + k];
            double u3 = a[x3 + k];
            double v0 = a[y0 + k];
            double v1 = a[y1 + k];
            double v2 = a[y2 + k];
            double v3 = a[y3 + k];
            s00 += u0 * v0;
            s01 += u0 * v1;
            s02 += u0 * v2;
            s03 += u0 * v3;
            s10 += u1 * v0;
            s11 += u1 * v1;
            s12 += u1 * v2;
            s13 += u1 * v3;
            s20 += u2 * v0;
            s21 += u2 * v1;
            s22 += u2 * v2;
            s23 += u2 * v3;
            s30 += u3 * v0;
            s31 += u3 * v1;
            s32 += u3 * v2;
            s33 += u3 * v3;
        }
        double[] s = {s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33};
        for (int i = 0; i < GRAM_BLOCK; i++) {
            for (int j = 0; j < GRAM_BLOCK; j++) {
                // On a diagonal block only the upper half is new; the rest is its mirror.
                if (c0 + j >= r0 + i) {
                    store(acc, count, r0 + i, c0 + j, s[i * GRAM_BLOCK + j]);
                }
            }
        }
    }

    /** acc[r,c] += s and, off the diagonal, acc[c,r] += s: the same value both ways. */
    private static void store(double[] acc, int count, int r, int c, double s) {
        acc[r * count + c] += s;
        if (c != r) {
            acc[c * count + r] += s;
        }
    }

    /** The transpose of a [rows x cols] row-major matrix. */
    static double[] transpose(double[] a, int rows, int cols) {
        double[] t = new double[a.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = a[i * cols + j];
            }
        }
        return t;
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
