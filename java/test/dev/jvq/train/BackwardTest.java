package dev.jvq.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.backend.CpuBackend;
import dev.jvq.backend.RopeStyle;
import dev.jvq.calib.CalibrationSet;
import dev.jvq.model.Fixtures;
import dev.jvq.model.LinearKind;
import dev.jvq.model.Llama2cCheckpoint;
import dev.jvq.model.Llama2cTokenizer;
import dev.jvq.model.LlamaConfig;
import dev.jvq.model.LlamaModel;
import dev.jvq.tensor.DType;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BackwardTest {
    private static final double EPS = 1e-3;

    static int[] fixtureSequence(int length) {
        Llama2cTokenizer tok = Llama2cTokenizer.load(Fixtures.tokenizer());
        return CalibrationSet.bosWindows(Fixtures.tinyStories(), tok, 1, length).sequences().get(0);
    }

    /**
     * Float64 gradients against central differences (ε = 1e-3 and ε/2, Richardson-extrapolated) of an
     * independent float64 loss: 20 sampled weights per linear kind spread over the layers. The plain
     * ε = 1e-3 difference alone carries a truncation error up to ~1e-4 on the synthetic model; the
     * extrapolated one agrees to ~1e-9, so the bound is 1e-6. Relative error |g − fd| / max(|fd|, floor),
     * with floor = 1e-2 · max|G| of that layer, so entries whose gradient is ~0 are judged on the
     * layer's scale rather than on their own vanishing size.
     */
    private static void checkAgainstFiniteDifferences(LlamaModel m, int[] tokens, long seed) {
        try (CpuBackend be = new CpuBackend()) {
            LinearGradients g64 = new Backward(m, be, Precision.F64).compute(tokens);
            LinearGradients g32 = new Backward(m, be, Precision.F32).compute(tokens);
            ReferenceLoss ref = new ReferenceLoss(m);
            double base = ref.loss(tokens);
            assertEquals(base, g64.loss(), 1e-9 * base, "loss");
            assertEquals(base, g32.loss(), 1e-4 * base, "f32 loss");
            assertEquals(tokens.length - 1, g64.scored());
            Random rnd = new Random(seed);
            LlamaConfig c = m.config();
            double worst = 0;
            double worstPlain = 0;
            for (LinearKind k : LinearKind.values()) {
                for (int s = 0; s < 20; s++) {
                    int l = s % c.nLayers();
                    double[] w = ref.w[l][k.ordinal()];
                    double[] grad = g64.gradient(l, k);
                    assertEquals(w.length, grad.length);
                    double floor = 1e-2 * maxAbs(grad);
                    assertTrue(floor > 0, k + " layer " + l + " has an all-zero gradient");
                    int i = rnd.nextInt(w.length);
                    double coarse = centralDifference(ref, tokens, w, i, EPS);
                    double fine = centralDifference(ref, tokens, w, i, EPS / 2);
                    // Richardson extrapolation cancels the ε² truncation term of the central difference.
                    double fd = (4 * fine - coarse) / 3;
                    worstPlain = Math.max(worstPlain, Math.abs(grad[i] - coarse) / Math.max(Math.abs(coarse), floor));
                    double rel = Math.abs(grad[i] - fd) / Math.max(Math.abs(fd), floor);
                    worst = Math.max(worst, rel);
                    assertTrue(rel < 1e-6, k + " layer " + l + " [" + i + "]: backward " + grad[i] + ", FD " + fd
                            + ", relative error " + rel);
                }
            }
            System.out.printf("worst relative error: %.3g against Richardson FD, %.3g against plain central FD%n",
                    worst, worstPlain);
            // The f32 products stay within 1e-3 of float64, relative to each layer's largest entry.
            for (int l = 0; l < c.nLayers(); l++) {
                for (LinearKind k : LinearKind.values()) {
                    double[] a = g64.gradient(l, k);
                    double[] b = g32.gradient(l, k);
                    double scale = maxAbs(a);
                    for (int i = 0; i < a.length; i++) {
                        assertEquals(a[i], b[i], 1e-3 * scale, k + " layer " + l + " [" + i + "] f32 vs f64");
                    }
                }
            }
        }
    }

    private static double centralDifference(ReferenceLoss ref, int[] tokens, double[] w, int i, double eps) {
        double keep = w[i];
        w[i] = keep + eps;
        double plus = ref.loss(tokens);
        w[i] = keep - eps;
        double minus = ref.loss(tokens);
        w[i] = keep;
        return (plus - minus) / (2 * eps);
    }

    static double maxAbs(double[] v) {
        double m = 0;
        for (double x : v) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }

    @Test
    void fixtureModelGradientsMatchFiniteDifferences() {
        try (LlamaModel m = Llama2cCheckpoint.load(Fixtures.model())) {
            checkAgainstFiniteDifferences(m, fixtureSequence(24), 7);
        }
    }

    /** Half-split RoPE, 3 query heads per KV head, untied head, widths that fit no vector width. */
    @Test
    void syntheticHalvesRopeUntiedHeadMatchesFiniteDifferences() {
        LlamaConfig c = new LlamaConfig(36, 46, 2, 6, 2, 37, 64, 500.0, 1e-5, RopeStyle.HALVES, false, null);
        try (LlamaModel m = LlamaModel.synthetic(c, DType.F32, 13)) {
            Random rnd = new Random(3);
            int[] tokens = new int[17];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = rnd.nextInt(c.vocabSize());
            }
            checkAgainstFiniteDifferences(m, tokens, 11);
        }
    }

    @Test
    void rejectsSequencesTooShortOrLong() {
        try (LlamaModel m = Llama2cCheckpoint.load(Fixtures.model()); CpuBackend be = new CpuBackend()) {
            Backward b = new Backward(m, be, Precision.F64);
            assertThrows(IllegalArgumentException.class, () -> b.compute(new int[] {1}));
            assertThrows(IllegalArgumentException.class, () -> b.compute(new int[m.config().maxSeqLen() + 1]));
        }
    }
}
