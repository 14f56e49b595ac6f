package dev.jvq.calib;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.JvqException;
import dev.jvq.backend.CpuBackend;
import dev.jvq.model.Fixtures;
import dev.jvq.model.Llama2cCheckpoint;
import dev.jvq.model.Llama2cTokenizer;
import dev.jvq.model.LinearKind;
import dev.jvq.model.LlamaModel;
import dev.jvq.tensor.Tensor;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HessianCalibrationTest {

    /** Layer 0's q/k/v input is RMSNorm(embedding[token]) · rms_att[0]: computable in float64 directly. */
    private static double[] layer0QkvInput(LlamaModel m, int token) {
        Tensor e = m.embedding();
        Tensor w = m.attnNorm(0);
        int d = m.config().dim();
        double[] x = new double[d];
        double ss = 0;
        for (int j = 0; j < d; j++) {
            x[j] = e.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (long) token * d + j);
            ss += x[j] * x[j];
        }
        double inv = 1 / Math.sqrt(ss / d + m.config().normEps());
        for (int j = 0; j < d; j++) {
            x[j] = x[j] * inv * w.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, j);
        }
        return x;
    }

    private static CalibrationSet threeWindows(Llama2cTokenizer tok) {
        return CalibrationSet.bosWindows(Fixtures.tinyStories(), tok, 3, 131);
    }

    @Test
    void meanMatchesFloat64ReferenceOnLayer0() {
        Llama2cTokenizer tok = Llama2cTokenizer.load(Fixtures.tokenizer());
        CalibrationSet calib = threeWindows(tok);
        assertEquals(3, calib.count());
        assertEquals(tok.bosId(), calib.sequences().get(1)[0]);
        try (LlamaModel m = Llama2cCheckpoint.load(Fixtures.model()); CpuBackend be = new CpuBackend();
                HessianCalibration h = HessianCalibration.collect(m, be, calib, false, i -> {})) {
            int d = m.config().dim();
            double[] ref = new double[d];
            long t = 0;
            for (int[] s : calib.sequences()) {
                for (int tokId : s) {
                    double[] x = layer0QkvInput(m, tokId);
                    for (int j = 0; j < d; j++) {
                        ref[j] += x[j] * x[j];
                    }
                    t++;
                }
            }
            double[] got = h.diagonal(0, LinearKind.K);
            for (int j = 0; j < d; j++) {
                assertEquals(ref[j] / t, got[j], 1e-5 * Math.abs(ref[j] / t), "h[" + j + "]");
            }
            assertEquals(3 * 131, h.tokens());
            // q, k, v share one statistic; every group has the right width and positive entries
            assertArrayEquals(h.diagonal(2, LinearKind.Q), h.diagonal(2, LinearKind.V));
            assertEquals(m.config().hiddenDim(), h.diagonal(4, LinearKind.DOWN).length);
            for (LinearKind k : LinearKind.values()) {
                for (double v : h.diagonal(m.config().nLayers() - 1, k)) {
                    assertTrue(v > 0, k + " " + v);
                }
            }
        }
    }

    @Test
    void emaFollowsThePaperRecurrence() {
        Llama2cTokenizer tok = Llama2cTokenizer.load(Fixtures.tokenizer());
        CalibrationSet calib = threeWindows(tok);
        List<Integer> progress = new ArrayList<>();
        try (LlamaModel m = Llama2cCheckpoint.load(Fixtures.model()); CpuBackend be = new CpuBackend();
                HessianCalibration h = HessianCalibration.collect(m, be, calib, true, progress::add)) {
            assertEquals(List.of(1, 2, 3), progress);
            int d = m.config().dim();
            double[] ema = null;
            for (int[] s : calib.sequences()) {
                double[] mean = new double[d];
                for (int tokId : s) {
                    double[] x = layer0QkvInput(m, tokId);
                    for (int j = 0; j < d; j++) {
                        mean[j] += x[j] * x[j] / s.length;
                    }
                }
                if (ema == null) {
                    ema = mean;
                } else {
                    for (int j = 0; j < d; j++) {
                        ema[j] = 0.95 * ema[j] + 0.05 * mean[j];
                    }
                }
            }
            double[] got = h.diagonal(0, LinearKind.Q);
            for (int j = 0; j < d; j++) {
                assertEquals(ema[j], got[j], 1e-5 * ema[j]);
            }
        }
    }

    @Test
    void paperRecipeJoinsLinesAndCutsSequences() {
        Llama2cTokenizer tok = Llama2cTokenizer.load(Fixtures.tokenizer());
        CalibrationSet c = CalibrationSet.paper(Fixtures.wikiTrain(), tok, 1000, 4, 300);
        assertEquals(4, c.count());
        for (int[] s : c.sequences()) {
            assertEquals(300, s.length);
        }
        String joined = String.join("\n\n", java.util.Arrays.asList(
                CalibrationSet.readText(Fixtures.wikiTrain()).split("\n", -1)).subList(0, 1000));
        int[] all = tok.encode(joined);
        assertArrayEquals(java.util.Arrays.copyOfRange(all, 300, 600), c.sequences().get(1));
    }

    @Test
    void badCalibrationTextIsOneLine(@TempDir Path dir) throws Exception {
        Llama2cTokenizer tok = Llama2cTokenizer.load(Fixtures.tokenizer());
        Path empty = Files.write(dir.resolve("empty.txt"), new byte[0]);
        Path bad = Files.write(dir.resolve("latin1.txt"), new byte[] {'a', (byte) 0xE9, 'b'});
        Path tiny = Files.writeString(dir.resolve("tiny.txt"), "Hi.");
        for (Path p : List.of(empty, bad, tiny)) {
            JvqException e = assertThrows(JvqException.class, () -> CalibrationSet.bosWindows(p, tok, 4, 64));
            assertTrue(e.getMessage().startsWith(p.toString()) && !e.getMessage().contains("\n"), e.getMessage());
        }
        JvqException e = assertThrows(JvqException.class, () -> CalibrationSet.bosWindows(tiny, tok, 0, 64));
        assertSame(JvqException.class, e.getClass());
    }
}
