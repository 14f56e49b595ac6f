package dev.jvq.rsavq;

import java.util.stream.IntStream;

/**
 * Cholesky factor A = L Lᵀ of a symmetric positive-definite [size x size] row-major float64 matrix
 * and the triangular solves built on it. The Fisher factors are damped, so a pivot ≤ 0 means the
 * caller passed something that is not a damped Fisher factor, and is reported as such.
 */
final class Cholesky {
    /** Rows below this many are not worth a parallel fork. */
    private static final int PARALLEL_ROWS = 128;

    /** L, lower triangular row-major; the upper triangle is zero. */
    final double[] lower;
    final int size;

    private Cholesky(double[] lower, int size) {
        this.lower = lower;
        this.size = size;
    }

    /**
     * Factors {@code a} (only its lower triangle is read). Column by column: the pivot, then every
     * row below it, in parallel, as a dot product of two contiguous row prefixes of L.
     */
    static Cholesky of(double[] a, int size, String what) {
        if (size < 1 || a.length != (long) size * size) {
            throw new IllegalArgumentException(what + ": " + a.length + " values, expected " + size + "x" + size);
        }
        double[] l = new double[a.length];
        for (int j = 0; j < size; j++) {
            int jr = j * size;
            double d = a[jr + j] - dot(l, jr, l, jr, j);
            if (!(d > 0) || Double.isInfinite(d)) {
                throw new IllegalArgumentException(what + " is not positive definite (pivot " + d + " at " + j + ")");
            }
            double pivot = Math.sqrt(d);
            l[jr + j] = pivot;
            final int col = j;
            IntStream rows = IntStream.range(j + 1, size);
            if (size - j > PARALLEL_ROWS) {
                rows = rows.parallel();
            }
            rows.forEach(i -> {
                int ir = i * size;
                l[ir + col] = (a[ir + col] - dot(l, ir, l, col * size, col)) / pivot;
            });
        }
        return new Cholesky(l, size);
    }

    private static double dot(double[] a, int ao, double[] b, int bo, int len) {
        double s0 = 0;
        double s1 = 0;
        int k = 0;
        for (; k + 1 < len; k += 2) {
            s0 += a[ao + k] * b[bo + k];
            s1 += a[ao + k + 1] * b[bo + k + 1];
        }
        if (k < len) {
            s0 += a[ao + k] * b[bo + k];
        }
        return s0 + s1;
    }

    /**
     * Y = L⁻¹ B in place for B [size x cols] row-major: forward substitution over rows, each step an
     * axpy of earlier rows, so memory is walked contiguously. Columns are independent, so the
     * columns are split into parallel stripes.
     */
    void forwardRows(double[] b, int cols) {
        stripes(cols, (c0, c1) -> {
            for (int i = 0; i < size; i++) {
                int ir = i * size;
                int br = i * cols;
                for (int k = 0; k < i; k++) {
                    double f = lower[ir + k];
                    if (f != 0) {
                        int kr = k * cols;
                        for (int c = c0; c < c1; c++) {
                            b[br + c] -= f * b[kr + c];
                        }
                    }
                }
                double inv = 1 / lower[ir + i];
                for (int c = c0; c < c1; c++) {
                    b[br + c] *= inv;
                }
            }
        });
    }

    /** X = L⁻ᵀ Y in place for Y [size x cols] row-major: backward substitution over rows. */
    void backwardRows(double[] b, int cols) {
        stripes(cols, (c0, c1) -> {
            for (int i = size - 1; i >= 0; i--) {
                int br = i * cols;
                double inv = 1 / lower[i * size + i];
                for (int c = c0; c < c1; c++) {
                    b[br + c] *= inv;
                }
                // Row i of X is final: remove its contribution from the rows above (L[i,k] = Lᵀ[k,i]).
                for (int k = 0; k < i; k++) {
                    double f = lower[i * size + k];
                    if (f != 0) {
                        int kr = k * cols;
                        for (int c = c0; c < c1; c++) {
                            b[kr + c] -= f * b[br + c];
                        }
                    }
                }
            }
        });
    }

    /** A⁻¹ B in place, B [size x cols] row-major. */
    void solveRows(double[] b, int cols) {
        forwardRows(b, cols);
        backwardRows(b, cols);
    }

    private interface Stripe {
        void run(int c0, int c1);
    }

    /** Splits [0, cols) into stripes of at least 64 columns and runs them in parallel. */
    private static void stripes(int cols, Stripe s) {
        int parts = Math.max(1, Math.min(Runtime.getRuntime().availableProcessors() * 2, cols / 64));
        IntStream.range(0, parts).parallel().forEach(p -> s.run((int) ((long) cols * p / parts),
                (int) ((long) cols * (p + 1) / parts)));
    }
}
