package dev.jvq.rsavq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class NaturalGradientTest {

    private static void checkAgainstInverse(int m, int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] g = Dense.random(r, m * n);
        double[] fo = Dense.spd(r, m);
        double[] fi = Dense.spd(r, n);
        double[] want = Dense.multiply(Dense.multiply(Dense.inverse(fo, m), g, m, m, n), Dense.inverse(fi, n), m, n, n);
        double[] got = NaturalGradient.compute(g, fo, fi, m, n, 0);
        double scale = Dense.maxAbs(want);
        assertTrue(scale > 1, "the factors are far from identity");
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-9 * scale, m + "x" + n + " Ñ[" + i + "]");
        }
    }

    @Test
    void matchesExplicitInversesAtOddSizes() {
        checkAgainstInverse(37, 23, 1);
        checkAgainstInverse(23, 37, 2);
        checkAgainstInverse(1, 5, 3);
        // Larger than the parallel thresholds of the factorisation and the striped solves.
        checkAgainstInverse(151, 197, 4);
    }

    @Test
    void rescalesToTheRequestedRms() {
        SplittableRandom r = new SplittableRandom(7);
        int m = 19;
        int n = 29;
        double[] g = Dense.random(r, m * n);
        double[] fo = Dense.spd(r, m);
        double[] fi = Dense.spd(r, n);
        double[] raw = NaturalGradient.compute(g, fo, fi, m, n, 0);
        double[] scaled = NaturalGradient.compute(g, fo, fi, m, n, 0.125);
        double sq = 0;
        for (double v : scaled) {
            sq += v * v;
        }
        assertEquals(0.125, Math.sqrt(sq / scaled.length), 1e-12);
        double ratio = scaled[0] / raw[0];
        assertTrue(ratio > 0);
        for (int i = 0; i < raw.length; i++) {
            assertEquals(raw[i] * ratio, scaled[i], 1e-12 * Dense.maxAbs(scaled), "same direction at " + i);
        }
        // A zero gradient stays zero instead of dividing by a zero RMS.
        double[] zero = NaturalGradient.compute(new double[m * n], fo, fi, m, n, 1);
        assertEquals(0, Dense.maxAbs(zero));
    }

    @Test
    void rejectsFactorsThatAreNotPositiveDefiniteAndBadShapes() {
        double[] g = {1, 2, 3, 4};
        double[] spd = {2, 1, 1, 2};
        double[] indefinite = {1, 2, 2, 1};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NaturalGradient.compute(g, indefinite, spd, 2, 2, 0));
        assertTrue(e.getMessage().contains("F_O is not positive definite"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NaturalGradient.compute(g, spd, indefinite, 2, 2, 0));
        assertTrue(e.getMessage().contains("F_I"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NaturalGradient.compute(g, spd, spd, 2, 3, 0));
        assertThrows(IllegalArgumentException.class, () -> NaturalGradient.compute(g, spd, new double[9], 2, 2, 0));
        assertThrows(IllegalArgumentException.class, () -> NaturalGradient.compute(g, spd, spd, 2, 2, Double.NaN));
        assertThrows(IllegalArgumentException.class,
                () -> NaturalGradient.compute(g, new double[] {Double.NaN, 0, 0, 1}, spd, 2, 2, 0));
    }
}
