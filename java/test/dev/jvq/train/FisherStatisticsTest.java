package dev.jvq.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.backend.CpuBackend;
import dev.jvq.calib.CalibrationSet;
import dev.jvq.model.Fixtures;
import dev.jvq.model.LinearKind;
import dev.jvq.model.Llama2cCheckpoint;
import dev.jvq.model.Llama2cTokenizer;
import dev.jvq.model.LlamaModel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FisherStatisticsTest {

    /** Whether the symmetric [size x size] matrix a + jitter·I has a Cholesky factor (is positive definite). */
    static boolean cholesky(double[] a, int size, double jitter) {
        double[] l = new double[size * size];
        for (int j = 0; j < size; j++) {
            double d = a[j * size + j] + jitter;
            for (int k = 0; k < j; k++) {
                d -= l[j * size + k] * l[j * size + k];
            }
            if (!(d > 0)) {
                return false;
            }
            l[j * size + j] = Math.sqrt(d);
            for (int i = j + 1; i < size; i++) {
                double s = a[i * size + j];
                for (int k = 0; k < j; k++) {
                    s -= l[i * size + k] * l[j * size + k];
                }
                l[i * size + j] = s / l[j * size + j];
            }
        }
        return true;
    }

    static double trace(double[] a, int size) {
        double t = 0;
        for (int i = 0; i < size; i++) {
            t += a[i * size + i];
        }
        return t;
    }

    @Test
    void choleskyCheckRejectsAnIndefiniteMatrix() {
        assertFalse(cholesky(new double[] {1, 2, 2, 1}, 2, 0));
        assertTrue(cholesky(new double[] {2, 1, 1, 2}, 2, 0));
    }

    @Test
    void meanGradientAndFactorsOnTheFixtureModel() {
        Llama2cTokenizer tok = Llama2cTokenizer.load(Fixtures.tokenizer());
        List<int[]> seqs = CalibrationSet.bosWindows(Fixtures.tinyStories(), tok, 3, 40).sequences();
        try (LlamaModel m = Llama2cCheckpoint.load(Fixtures.model()); CpuBackend be = new CpuBackend()) {
            double delta = FisherStatistics.DEFAULT_DAMPING;
            FisherStatistics damped = FisherStatistics.collect(m, be, Precision.F64, seqs, delta, null);
            FisherStatistics raw = new FisherStatistics(m.config(), 0);
            Backward backward = new Backward(m, be, Precision.F64);
            List<LinearGradients> each = new ArrayList<>();
            for (int[] s : seqs) {
                LinearGradients g = backward.compute(s);
                each.add(g);
                raw.add(g);
            }
            assertEquals(3, damped.sequences());
            int layers = m.config().nLayers();
            for (int l = 0; l < layers; l++) {
                for (LinearKind k : LinearKind.values()) {
                    int rows = (int) k.rows(m.config());
                    int cols = (int) k.cols(m.config());
                    String at = k + " layer " + l;
                    // Ḡ is the mean of the per-sequence gradients.
                    double[] mean = damped.meanGradient(l, k);
                    double scale = BackwardTest.maxAbs(mean);
                    for (int i = 0; i < mean.length; i++) {
                        double want = 0;
                        for (LinearGradients g : each) {
                            want += g.gradient(l, k)[i];
                        }
                        assertEquals(want / each.size(), mean[i], 1e-12 * scale, at + " Ḡ[" + i + "]");
                    }
                    checkFactor(damped.inputFactor(l, k), raw.inputFactor(l, k), cols, delta, at + " F_I");
                    checkFactor(damped.outputFactor(l, k), raw.outputFactor(l, k), rows, delta, at + " F_O");
                }
            }
            // A few entries of F_I and F_O written out from their definitions.
            int l = layers - 1;
            LinearKind k = LinearKind.DOWN;
            int rows = (int) k.rows(m.config());
            int cols = (int) k.cols(m.config());
            double[] fi = raw.inputFactor(l, k);
            double[] fo = raw.outputFactor(l, k);
            int[][] pairs = {{0, 0}, {3, 17}, {40, 5}, {63, 63}};
            for (int[] p : pairs) {
                double wantI = 0;
                double wantO = 0;
                for (LinearGradients g : each) {
                    double[] gr = g.gradient(l, k);
                    for (int r = 0; r < rows; r++) {
                        wantI += gr[r * cols + p[0]] * gr[r * cols + p[1]];
                    }
                    for (int j = 0; j < cols; j++) {
                        wantO += gr[p[0] * cols + j] * gr[p[1] * cols + j];
                    }
                }
                assertEquals(wantI / 3, fi[p[0] * cols + p[1]], 1e-12 * Math.abs(fi[0]), "F_I" + p[0] + "," + p[1]);
                assertEquals(wantO / 3, fo[p[0] * rows + p[1]], 1e-12 * Math.abs(fo[0]), "F_O" + p[0] + "," + p[1]);
            }
        }
    }

    /** Symmetric; raw factor PSD (λmin ≥ −1e-9·trace); damping adds δ·mean(diag); damped factor PD. */
    private static void checkFactor(double[] damped, double[] raw, int size, double delta, String what) {
        assertEquals(size * size, raw.length, what);
        double tr = trace(raw, size);
        assertTrue(tr > 0, what + " trace " + tr);
        for (int i = 0; i < size; i++) {
            for (int j = 0; j < size; j++) {
                assertEquals(raw[i * size + j], raw[j * size + i], what + " symmetric");
                double add = i == j ? delta * tr / size : 0;
                assertEquals(raw[i * size + j] + add, damped[i * size + j], 1e-12 * tr, what + " damping");
            }
        }
        assertTrue(cholesky(raw, size, 1e-9 * tr), what + " is not positive semi-definite");
        assertTrue(cholesky(damped, size, 0), what + " damped is not positive definite");
    }

    @Test
    void aLayerRangeCollectsTheSameStatisticsForItsLayersOnly() {
        Llama2cTokenizer tok = Llama2cTokenizer.load(Fixtures.tokenizer());
        List<int[]> seqs = CalibrationSet.bosWindows(Fixtures.tinyStories(), tok, 2, 24).sequences();
        try (LlamaModel m = Llama2cCheckpoint.load(Fixtures.model()); CpuBackend be = new CpuBackend()) {
            int layers = m.config().nLayers();
            FisherStatistics all = new FisherStatistics(m.config(), 0.01);
            FisherStatistics some = new FisherStatistics(m.config(), 0.01, 1, layers);
            Backward backward = new Backward(m, be, Precision.F32);
            for (int[] s : seqs) {
                LinearGradients g = backward.compute(s);
                all.add(g);
                some.add(g);
            }
            for (int l = 1; l < layers; l++) {
                for (LinearKind k : LinearKind.values()) {
                    org.junit.jupiter.api.Assertions.assertArrayEquals(all.meanGradient(l, k), some.meanGradient(l, k));
                    org.junit.jupiter.api.Assertions.assertArrayEquals(all.inputFactor(l, k), some.inputFactor(l, k));
                    org.junit.jupiter.api.Assertions.assertArrayEquals(all.outputFactor(l, k), some.outputFactor(l, k));
                }
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> some.inputFactor(0, LinearKind.Q));
            assertTrue(e.getMessage().contains("layer 0 were not collected"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new FisherStatistics(m.config(), 0.01, 2, 2));
            assertThrows(IllegalArgumentException.class, () -> new FisherStatistics(m.config(), 0.01, 0, layers + 1));
            // The estimate is what the accumulators hold: Ḡ, F_I and F_O in float64 per linear per layer.
            long want = 0;
            for (LinearKind k : LinearKind.values()) {
                long rows = k.rows(m.config());
                long cols = k.cols(m.config());
                want += 8 * (rows * cols + cols * cols + rows * rows);
            }
            assertEquals(want * layers, FisherStatistics.bytesNeeded(m.config()));
            assertEquals(want * (layers - 1), FisherStatistics.bytesNeeded(m.config(), 1, layers));
        }
    }

    @Test
    void rejectsBadDampingAndEmptyCalibration() {
        try (LlamaModel m = Llama2cCheckpoint.load(Fixtures.model()); CpuBackend be = new CpuBackend()) {
            assertThrows(IllegalArgumentException.class, () -> new FisherStatistics(m.config(), -1));
            assertThrows(IllegalArgumentException.class, () -> new FisherStatistics(m.config(), Double.NaN));
            assertThrows(IllegalArgumentException.class,
                    () -> FisherStatistics.collect(m, be, Precision.F32, List.of(), 0.01, null));
            assertThrows(IllegalStateException.class, () -> new FisherStatistics(m.config(), 0).meanGradient(0, LinearKind.Q));
        }
    }
}
