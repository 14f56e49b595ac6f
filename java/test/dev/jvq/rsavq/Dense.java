package dev.jvq.rsavq;

import java.util.SplittableRandom;

/** Straightforward float64 references for the RSAVQ tests: random SPD matrices, explicit inverses, products. */
final class Dense {
    private Dense() {
    }

    static double[] random(SplittableRandom r, int len) {
        double[] a = new double[len];
        for (int i = 0; i < len; i++) {
            a[i] = r.nextDouble(-1, 1);
        }
        return a;
    }

    /** R Rᵀ / size + 0.05·I with R random: well away from identity and comfortably positive definite. */
    static double[] spd(SplittableRandom r, int size) {
        double[] x = random(r, size * size);
        double[] a = new double[size * size];
        for (int i = 0; i < size; i++) {
            for (int j = 0; j < size; j++) {
                double s = 0;
                for (int k = 0; k < size; k++) {
                    s += x[i * size + k] * x[j * size + k];
                }
                a[i * size + j] = s / size + (i == j ? 0.05 : 0);
            }
        }
        return a;
    }

    /** A⁻¹ by Gauss-Jordan elimination with partial pivoting. */
    static double[] inverse(double[] a, int size) {
        double[] m = a.clone();
        double[] inv = new double[size * size];
        for (int i = 0; i < size; i++) {
            inv[i * size + i] = 1;
        }
        for (int col = 0; col < size; col++) {
            int piv = col;
            for (int i = col + 1; i < size; i++) {
                if (Math.abs(m[i * size + col]) > Math.abs(m[piv * size + col])) {
                    piv = i;
                }
            }
            swapRows(m, size, col, piv);
            swapRows(inv, size, col, piv);
            double p = m[col * size + col];
            for (int j = 0; j < size; j++) {
                m[col * size + j] /= p;
                inv[col * size + j] /= p;
            }
            for (int i = 0; i < size; i++) {
                double f = m[i * size + col];
                if (i != col && f != 0) {
                    for (int j = 0; j < size; j++) {
                        m[i * size + j] -= f * m[col * size + j];
                        inv[i * size + j] -= f * inv[col * size + j];
                    }
                }
            }
        }
        return inv;
    }

    private static void swapRows(double[] m, int size, int a, int b) {
        for (int j = 0; j < size; j++) {
            double t = m[a * size + j];
            m[a * size + j] = m[b * size + j];
            m[b * size + j] = t;
        }
    }

    /** A [p x q] · B [q x r]. */
    static double[] multiply(double[] a, double[] b, int p, int q, int r) {
        double[] c = new double[p * r];
        for (int i = 0; i < p; i++) {
            for (int k = 0; k < q; k++) {
                double f = a[i * q + k];
                for (int j = 0; j < r; j++) {
                    c[i * r + j] += f * b[k * r + j];
                }
            }
        }
        return c;
    }

    static double maxAbs(double[] a) {
        double m = 0;
        for (double v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }
}
