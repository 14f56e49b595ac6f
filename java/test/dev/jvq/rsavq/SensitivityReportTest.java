package dev.jvq.rsavq;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jvq.quant.TestData;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SensitivityReportTest {

    @Test
    void spearmanIsOneForTheSameOrderAndMinusOneForTheReverse() {
        double[] x = {0.3, 5, 1.5, 2, 9, 0.1};
        double[] up = Arrays.stream(x).map(v -> Math.exp(v)).toArray();
        double[] down = Arrays.stream(x).map(v -> -v * v * v).toArray();
        assertEquals(1.0, SensitivityReport.spearman(x, up), 1e-12);
        assertEquals(-1.0, SensitivityReport.spearman(x, down), 1e-12);
        // one swapped pair of six: 1 - 6·2/(6·35)
        assertEquals(1 - 12.0 / 210, SensitivityReport.spearman(new double[] {1, 2, 3, 4, 5, 6},
                new double[] {1, 2, 3, 4, 6, 5}), 1e-12);
    }

    @Test
    void reportAgreesWithItsParts() {
        int m = 11;
        int n = 6;
        SplittableRandom r = new SplittableRandom(7);
        double[] g = new double[m * n];
        for (int i = 0; i < g.length; i++) {
            g[i] = TestData.gaussian(r) * 0.1;
        }
        double[] fOut = RsavqQuantizerTest.spd(m, r);
        double[] fIn = RsavqQuantizerTest.spd(n, r);
        float[] w = TestData.weights(m, n, 3);
        try (Arena arena = Arena.ofConfined()) {
            SensitivityReport rep = SensitivityReport.of(TestData.f32("w", w, m, n, arena), g, fOut, fIn, 16);
            double g2 = Arrays.stream(g).map(v -> v * v).sum();
            double tr = 0;
            for (int c = 0; c < n; c++) {
                tr += fIn[c * n + c];
            }
            assertEquals(16 * g2 / tr, rep.signalToNoise(), 1e-12);
            double[] paper = ChannelSensitivity.of(g, fOut, fIn, m, n);
            double maxLog = Arrays.stream(paper).map(v -> Math.log(v) / Math.log(2)).max().orElseThrow();
            assertEquals(maxLog, rep.paperLog2()[2], 1e-12);
            assertEquals(0.0, rep.fisherLog2()[0], 1e-12);
            assertEquals(SensitivityReport.spearman(paper, Sensitivity.FISHER.of(w, g, fOut, fIn, m, n)), rep.spearman(),
                    1e-12);
        }
    }
}
