package dev.jvq.rsavq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.backend.CpuBackend;
import dev.jvq.quant.BitPacker;
import dev.jvq.quant.CodebookScope;
import dev.jvq.quant.PqGroup;
import dev.jvq.quant.RsavqLinear;
import dev.jvq.quant.TestData;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** RSAVQ on random matrices with random (SPD, non-identity) Fisher statistics. */
class RsavqQuantizerTest {
    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = new CpuBackend();
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    record Matrix(String name, String kind, int rows, int cols, float[] w, RsavqQuantizer.Fisher fisher) {}

    /** A random SPD matrix B Bᵀ / size + 0.05 I with a spread of diagonal magnitudes. */
    static double[] spd(int size, SplittableRandom r) {
        double[] b = new double[size * size];
        for (int i = 0; i < size; i++) {
            double rowScale = 0.2 + 2 * r.nextDouble();
            for (int j = 0; j < size; j++) {
                b[i * size + j] = TestData.gaussian(r) * rowScale;
            }
        }
        double[] f = new double[size * size];
        for (int i = 0; i < size; i++) {
            for (int j = 0; j < size; j++) {
                double s = 0;
                for (int t = 0; t < size; t++) {
                    s += b[i * size + t] * b[j * size + t];
                }
                f[i * size + j] = s / size + (i == j ? 0.05 : 0);
            }
        }
        return f;
    }

    static Matrix matrix(String name, String kind, int rows, int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] g = new double[rows * cols];
        for (int i = 0; i < g.length; i++) {
            g[i] = TestData.gaussian(r) * 0.01 * (1 + (i % cols) % 5);
        }
        return new Matrix(name, kind, rows, cols, TestData.weights(rows, cols, seed + 1),
                new RsavqQuantizer.Fisher(g, spd(cols, r), spd(rows, r)));
    }

    static List<RsavqLinear> quantize(List<Matrix> ms, RsavqParams p, CodebookScope scope, Arena arena) {
        List<RsavqQuantizer.Input> in = new ArrayList<>();
        for (Matrix m : ms) {
            in.add(new RsavqQuantizer.Input(m.name, m.kind, TestData.f32(m.name, m.w, m.rows, m.cols, arena), m.fisher));
        }
        return RsavqQuantizer.quantize(in, p, scope, cpu, arena, line -> {}).layers();
    }

    static RsavqParams params(int bits, boolean edsg, boolean wcsg, double lambda) {
        return new RsavqParams(bits, 4, 6, 2, lambda, 4, 6, 200, edsg, wcsg, AllocationRule.PAPER, Sensitivity.PAPER, true, true, 1e-2, 3);
    }

    static double relativeError(float[] w, float[] what) {
        double e = 0;
        double n = 0;
        for (int i = 0; i < w.length; i++) {
            e += (w[i] - what[i]) * (double) (w[i] - what[i]);
            n += (double) w[i] * w[i];
        }
        return Math.sqrt(e / n);
    }

    @Test
    void layersMeetTheirBitBudgetAndErrorFallsWithBits() {
        List<Matrix> ms = List.of(matrix("a", "q", 241, 90, 1), matrix("b", "k", 160, 90, 2));
        try (Arena arena = Arena.ofConfined()) {
            double previous = Double.MAX_VALUE;
            for (int bits = 2; bits <= 3; bits++) {
                List<RsavqLinear> out = quantize(ms, params(bits, true, true, 0.05), CodebookScope.MODEL, arena);
                double err = 0;
                for (int i = 0; i < ms.size(); i++) {
                    RsavqLinear q = out.get(i);
                    Matrix m = ms.get(i);
                    assertEquals(m.name, q.name());
                    assertEquals(4, q.groups().size());
                    // Index bits per weight: code width / sub-vector length (a width below bits x 3 where a
                    // codebook was clamped to the sub-vectors it has); never over the budget.
                    double budget = 0;
                    for (PqGroup g : q.groups()) {
                        assertTrue(g.bits() <= 3 * params(bits, true, true, 0.05).maxGroupBits());
                        budget += g.colCount() * g.bits() / 3.0;
                    }
                    assertTrue(budget <= bits * m.cols && budget >= (bits - 1) * m.cols,
                            "Σ group bits " + budget + " for target " + bits + " x " + m.cols);
                    err += relativeError(m.w, q.dequantizeInJava());
                }
                assertTrue(err < previous, bits + " bits: error " + err + " not below " + previous);
                previous = err;
            }
        }
    }

    @Test
    void modelScopeSharesOneCodebookPerBitWidthAndIsDeterministic() {
        List<Matrix> ms = List.of(matrix("a", "q", 67, 45, 1), matrix("b", "k", 40, 45, 2));
        try (Arena arena = Arena.ofConfined()) {
            List<RsavqLinear> one = quantize(ms, params(2, true, true, 0.05), CodebookScope.MODEL, arena);
            List<RsavqLinear> two = quantize(ms, params(2, true, true, 0.05), CodebookScope.MODEL, arena);
            Set<Integer> widths = new HashSet<>();
            for (int i = 0; i < one.size(); i++) {
                for (PqGroup g : one.get(i).groups()) {
                    widths.add(g.bits());
                    assertTrue(g.codebook().shared());
                    for (PqGroup h : one.get(0).groups()) {
                        if (h.bits() == g.bits()) {
                            assertSame(h.codebook(), g.codebook());
                        }
                    }
                }
                assertArrayEquals(one.get(i).dequantizeInJava(), two.get(i).dequantizeInJava());
            }
            List<RsavqLinear> perMatrix = quantize(ms, params(2, true, true, 0.05), CodebookScope.MATRIX, arena);
            for (RsavqLinear q : perMatrix) {
                Set<Object> books = new HashSet<>();
                for (PqGroup g : q.groups()) {
                    assertTrue(!g.codebook().shared());
                    books.add(g.codebook());
                }
                assertEquals(4, books.size(), "each group has its own codebook");
            }
        }
    }

    @Test
    void edsgPushesTheErrorAlongMinusTheNaturalGradient() {
        Matrix m = matrix("a", "q", 241, 45, 7);
        double rms = 0;
        for (float v : m.w) {
            rms += (double) v * v;
        }
        rms = Math.sqrt(rms / m.w.length);
        double[] ng = NaturalGradient.compute(m.fisher.meanGradient(), m.fisher.outputFactor(), m.fisher.inputFactor(),
                m.rows, m.cols, rms);
        try (Arena arena = Arena.ofConfined()) {
            double[] along = new double[3];
            double[] lambdas = {0, 0.1, 0.3};
            for (int i = 0; i < lambdas.length; i++) {
                float[] what = quantize(List.of(m), params(2, true, false, lambdas[i]), CodebookScope.MATRIX, arena)
                        .get(0).dequantizeInJava();
                double s = 0;
                for (int j = 0; j < what.length; j++) {
                    s += (what[j] - m.w[j]) * ng[j];
                }
                along[i] = s;
            }
            assertTrue(along[1] < along[0] && along[2] < along[1],
                    "⟨Ŵ − W, Ñ⟩ should fall as λ grows: " + java.util.Arrays.toString(along));
        }
    }

    @Test
    void codesAreWithinTheirWidthAndTheTailRowsAreCoded() {
        Matrix m = matrix("a", "q", 67, 45, 9); // 67 rows: the last sub-vector of every column has 1 row
        try (Arena arena = Arena.ofConfined()) {
            RsavqLinear q = quantize(List.of(m), params(2, false, false, 0), CodebookScope.MATRIX, arena).get(0);
            float[] what = q.dequantizeInJava();
            for (PqGroup g : q.groups()) {
                int[] codes = BitPacker.unpack(g.codes(), g.bits(), (int) (g.colCount() * q.subVectors()));
                for (int c : codes) {
                    assertTrue(c >= 0 && c < g.k());
                }
            }
            for (int c = 0; c < m.cols; c++) {
                assertTrue(what[66 * m.cols + c] != 0f, "last row reconstructed");
            }
        }
    }

    @Test
    void wcsgWithoutFisherStatisticsIsRefused() {
        Matrix m = matrix("a", "q", 12, 10, 1);
        try (Arena arena = Arena.ofConfined()) {
            List<RsavqQuantizer.Input> in = List.of(new RsavqQuantizer.Input("a", "q",
                    TestData.f32("a", m.w, 12, 10, arena), null));
            assertThrows(IllegalArgumentException.class,
                    () -> RsavqQuantizer.quantize(in, params(2, false, true, 0), CodebookScope.MATRIX, cpu, arena, l -> {}));
        }
    }
}
