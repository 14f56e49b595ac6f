package dev.jvq.rsavq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.jvq.JvqException;
import dev.jvq.quant.TestData;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SensitivityTest {

    @Test
    void fisherSensitivityIsTheDiagonalFisherWeightedColumnEnergyOverItsMinimum() {
        int m = 13;
        int n = 7;
        SplittableRandom r = new SplittableRandom(4);
        float[] w = TestData.weights(m, n, 8);
        double[] fOut = RsavqQuantizerTest.spd(m, r);
        double[] fIn = RsavqQuantizerTest.spd(n, r);
        double[] s = Sensitivity.FISHER.of(w, null, fOut, fIn, m, n);
        double[] ref = new double[n];
        double min = Double.MAX_VALUE;
        for (int c = 0; c < n; c++) {
            for (int i = 0; i < m; i++) {
                ref[c] += fIn[c * n + c] * fOut[i * m + i] * w[i * n + c] * (double) w[i * n + c];
            }
            min = Math.min(min, ref[c]);
        }
        for (int c = 0; c < n; c++) {
            ref[c] /= min;
        }
        assertArrayEquals(ref, s, 1e-12);
        assertEquals(1.0, java.util.Arrays.stream(s).min().orElseThrow(), 1e-15);
    }

    @Test
    void paperSensitivityIsChannelSensitivity() {
        int m = 9;
        int n = 5;
        SplittableRandom r = new SplittableRandom(2);
        double[] g = new double[m * n];
        for (int i = 0; i < g.length; i++) {
            g[i] = TestData.gaussian(r);
        }
        double[] fOut = RsavqQuantizerTest.spd(m, r);
        double[] fIn = RsavqQuantizerTest.spd(n, r);
        assertArrayEquals(ChannelSensitivity.of(g, fOut, fIn, m, n),
                Sensitivity.PAPER.of(TestData.weights(m, n, 1), g, fOut, fIn, m, n));
        assertEquals(Sensitivity.FISHER, Sensitivity.parse(" Fisher "));
        assertThrows(JvqException.class, () -> Sensitivity.parse("hessian"));
    }
}
