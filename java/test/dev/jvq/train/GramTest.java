package dev.jvq.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class GramTest {

    /** The plain float64 triple loop the tiled kernel replaced: acc += GᵀG, upper triangle summed then mirrored. */
    private static void naiveColumnGram(double[] acc, double[] g, int m, int n) {
        for (int a = 0; a < n; a++) {
            for (int b = a; b < n; b++) {
                double s = 0;
                for (int r = 0; r < m; r++) {
                    s += g[r * n + a] * g[r * n + b];
                }
                acc[a * n + b] += s;
                if (b != a) {
                    acc[b * n + a] += s;
                }
            }
        }
    }

    private static double[] random(SplittableRandom r, int len) {
        double[] a = new double[len];
        for (int i = 0; i < len; i++) {
            a[i] = r.nextGaussian() * Math.exp(r.nextDouble(-3, 3));
        }
        return a;
    }

    @Test
    void blockedParallelGramIsBitIdenticalToTheTripleLoop() {
        // Sizes off the 4 x 4 blocks, big enough to go parallel.
        int[][] shapes = {{37, 23}, {1, 1}, {5, 3}, {23, 300}, {301, 41}, {129, 517}};
        SplittableRandom r = new SplittableRandom(5);
        for (int[] s : shapes) {
            int m = s[0];
            int n = s[1];
            double[] g = random(r, m * n);
            double[] start = random(r, n * n);
            double[] want = start.clone();
            double[] got = start.clone();
            naiveColumnGram(want, g, m, n);
            MatrixProducts.addColumnGram(got, g, m, n);
            assertArrayEquals(want, got, 0.0, m + "x" + n + " GᵀG");
            // Rows: G Gᵀ, the Gram of the rows of G.
            double[] rowsWant = new double[m * m];
            for (int a = 0; a < m; a++) {
                for (int b = a; b < m; b++) {
                    double sum = 0;
                    for (int j = 0; j < n; j++) {
                        sum += g[a * n + j] * g[b * n + j];
                    }
                    rowsWant[a * m + b] += sum;
                    if (b != a) {
                        rowsWant[b * m + a] += sum;
                    }
                }
            }
            double[] rowsGot = new double[m * m];
            MatrixProducts.addRowGram(rowsGot, g, m, n);
            assertArrayEquals(rowsWant, rowsGot, 0.0, m + "x" + n + " G Gᵀ");
        }
        assertThrows(IllegalArgumentException.class, () -> MatrixProducts.addColumnGram(new double[4], new double[6], 3, 3));
    }
}
