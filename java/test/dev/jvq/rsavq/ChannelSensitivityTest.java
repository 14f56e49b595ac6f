package dev.jvq.rsavq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ChannelSensitivityTest {

    @Test
    void matchesTheDefinitionWithAnExplicitInverse() {
        for (int[] shape : new int[][] {{37, 23}, {23, 37}, {150, 7}}) {
            int m = shape[0];
            int n = shape[1];
            SplittableRandom r = new SplittableRandom(m * 31L + n);
            double[] g = Dense.random(r, m * n);
            double[] fo = Dense.spd(r, m);
            double[] fi = Dense.spd(r, n);
            double[] inv = Dense.inverse(fo, m);
            double[] got = ChannelSensitivity.of(g, fo, fi, m, n);
            for (int c = 0; c < n; c++) {
                // I_c = ½ ∇̃ᵀ F_c ∇̃ with F_c = F_I[c,c]·F_O and ∇̃ = F_c⁻¹ g_c, written out literally.
                double fc = fi[c * n + c];
                double[] nat = new double[m];
                for (int i = 0; i < m; i++) {
                    for (int k = 0; k < m; k++) {
                        nat[i] += inv[i * m + k] * g[k * n + c] / fc;
                    }
                }
                double q = 0;
                for (int i = 0; i < m; i++) {
                    for (int k = 0; k < m; k++) {
                        q += nat[i] * fc * fo[i * m + k] * nat[k];
                    }
                }
                double want = 0.5 * q + 1;
                assertTrue(want > 2, "far from the +1 floor");
                assertEquals(want, got[c], 1e-10 * want, m + "x" + n + " channel " + c);
            }
        }
    }

    @Test
    void largerGradientColumnsAndSmallerInputFisherMeanMoreSensitive() {
        SplittableRandom r = new SplittableRandom(3);
        int m = 17;
        int n = 9;
        double[] base = Dense.random(r, m);
        double[] g = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int c = 0; c < n; c++) {
                g[i * n + c] = base[i] * (c + 1);
            }
        }
        double[] fo = Dense.spd(r, m);
        double[] fi = Dense.spd(r, n);
        double[] s = ChannelSensitivity.of(g, fo, fi, m, n);
        // Same direction, |g_c| ∝ c+1: I_c − 1 ∝ (c+1)² / F_I[c,c].
        for (int c = 1; c < n; c++) {
            double ratio = (s[c] - 1) / (s[0] - 1);
            assertEquals((c + 1) * (c + 1) * fi[0] / fi[c * n + c], ratio, 1e-9 * ratio, "channel " + c);
        }
        assertEquals(1.0, ChannelSensitivity.of(new double[m * n], fo, fi, m, n)[4], 0.0, "zero gradient → 1");
        double[] badFi = fi.clone();
        badFi[2 * n + 2] = 0;
        assertThrows(IllegalArgumentException.class, () -> ChannelSensitivity.of(g, fo, badFi, m, n));
    }
}
