package dev.jvq.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.backend.CpuBackend;
import dev.jvq.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** HAS-VQ end to end on the CPU kernels: the invariants ALGORITHMS.md section 2 promises. */
class HasVqTest {
    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = new CpuBackend();
    }

    /**
     * Checks one quantised matrix against W and h: |Ω|, outliers exact up to fp16, every vector on its
     * nearest codeword (so the non-outlier error is at most that distance), kernels = Java decode.
     */
    static void assertInvariants(VqLinear q, float[] w, float[] h, HasVqParams p, Arena arena) {
        int rows = (int) q.rows();
        int cols = (int) q.cols();
        int b = q.codebook().b();
        HasVq.Prepared pm = HasVq.prepare("ref", TestData.f32("ref", w, rows, cols, arena), h, p, arena);
        assertEquals(HasVq.outlierCount(p.sparsity(), rows, cols), q.nnz());
        assertEquals(Math.floor(p.sparsity() * rows * cols), q.nnz(), 1.0);
        float[] what = q.dequantizeInJava();
        float[] cb = q.codebook().toFloats();
        int[] codes = BitPacker.unpack(q.codes(), q.bits(), (int) q.vectors());
        // outliers: Ŵ[Ω] == s·N[Ω] up to the fp16 rounding of S
        for (int i = 0; i < q.nnz(); i++) {
            int f = q.sparseIndex().getAtIndex(LittleEndian.I32, i);
            assertEquals(pm.outliers()[i], f, "outlier set");
            float s = Float.float16ToFloat(q.rowScales().getAtIndex(LittleEndian.I16, f / cols));
            double n = pm.outlierValues()[i];
            double r = cb[codes[f / b] * b + f % b];
            double sRes = n - r;
            double tol = Math.abs(sRes) * 0x1p-11 + 0x1p-25 + Math.abs(n) * 1e-6;
            assertEquals(n, what[f] / s, tol, "outlier " + f);
        }
        // every vector of the masked body sits on its nearest codeword
        for (int v = 0; v < q.vectors(); v++) {
            double best = Double.MAX_VALUE;
            for (int j = 0; j < q.codebook().k(); j++) {
                best = Math.min(best, dist(pm.body(), v, cb, j, b));
            }
            double got = dist(pm.body(), v, cb, codes[v], b);
            assertTrue(got <= best * (1 + 1e-5) + 1e-12, "vector " + v + " not on its nearest codeword");
            // non-outlier reconstruction error of this vector ≤ that distance
            double err = 0;
            for (int d = 0; d < b; d++) {
                long f = (long) v * b + d;
                if (f < (long) rows * cols && !isOutlier(q, f)) {
                    float s = Float.float16ToFloat(q.rowScales().getAtIndex(LittleEndian.I16, f / cols));
                    double e = what[(int) f] / s - pm.body().getAtIndex(LittleEndian.F32, f);
                    err += e * e;
                }
            }
            assertTrue(err <= got * (1 + 1e-4) + 1e-10, "vector " + v + ": error " + err + " > distance " + got);
        }
        // the native decode equals the Java one
        MemorySegment dq = arena.allocate((long) rows * cols * 4, 64);
        q.dequantizeRows(cpu, dq, 0, rows);
        for (int i = 0; i < what.length; i++) {
            assertEquals(what[i], dq.getAtIndex(LittleEndian.F32, i), 1e-6 * Math.abs(what[i]) + 1e-9, "decode " + i);
        }
    }

    private static boolean isOutlier(VqLinear q, long f) {
        for (long i = 0; i < q.nnz(); i++) {
            if (q.sparseIndex().getAtIndex(LittleEndian.I32, i) == f) {
                return true;
            }
        }
        return false;
    }

    private static double dist(MemorySegment body, int v, float[] cb, int j, int b) {
        double s = 0;
        for (int d = 0; d < b; d++) {
            double e = body.getAtIndex(LittleEndian.F32, (long) v * b + d) - cb[j * b + d];
            s += e * e;
        }
        return s;
    }

    /** gemv and gemm (n = 3) against float64 products with the decoded matrix. */
    static void assertMultiplies(QuantizedLayer q, float[] what, Arena arena) {
        int rows = (int) q.rows();
        int cols = (int) q.cols();
        int n = 3;
        float[] x = TestData.weights(n, cols, 77);
        MemorySegment xs = arena.allocate((long) n * cols * 4, 64);
        MemorySegment.copy(x, 0, xs, LittleEndian.F32, 0, x.length);
        MemorySegment y = arena.allocate((long) n * rows * 4, 64);
        q.gemm(cpu, xs, y, n);
        MemorySegment y1 = arena.allocate((long) rows * 4, 64);
        q.gemv(cpu, xs.asSlice(cols * 4L, cols * 4L), y1);
        for (int t = 0; t < n; t++) {
            for (int r = 0; r < rows; r++) {
                double ref = 0;
                double mag = 0;
                for (int c = 0; c < cols; c++) {
                    ref += (double) what[r * cols + c] * x[t * cols + c];
                    mag += Math.abs((double) what[r * cols + c] * x[t * cols + c]);
                }
                assertEquals(ref, y.getAtIndex(LittleEndian.F32, (long) t * rows + r), 1e-5 * mag + 1e-9,
                        q.name() + " gemm " + t + "," + r);
                if (t == 1) {
                    assertEquals(ref, y1.getAtIndex(LittleEndian.F32, r), 1e-5 * mag + 1e-9, q.name() + " gemv " + r);
                }
            }
        }
    }

    @Test
    void oneMatrixPerCodebook() {
        int rows = 67;
        int cols = 45; // vectors straddle rows, padding at the end
        float[] w = TestData.weights(rows, cols, 1);
        float[] h = TestData.hessian(cols, 2);
        HasVqParams p = new HasVqParams(4, 64, 0.015, 5, 5, 3);
        try (Arena arena = Arena.ofConfined()) {
            var in = List.of(new HasVqQuantizer.Input("blk.0.wq", "q", TestData.f32("w", w, rows, cols, arena), h));
            HasVqQuantizer.Result r = HasVqQuantizer.quantize(in, p, CodebookScope.MATRIX, cpu, arena, s -> { });
            VqLinear q = r.layers().get(0);
            assertNull(q.codebook().name());
            assertEquals(6, q.bits());
            assertTrue(r.sharedCodebooks().isEmpty() && r.warnings().isEmpty());
            assertInvariants(q, w, h, p, arena);
            assertMultiplies(q, q.dequantizeInJava(), arena);
        }
    }

    @Test
    void pooledCodebooksByKindAndForTheModel() {
        int[][] shapes = {{24, 40}, {13, 40}, {40, 23}, {24, 40}};
        String[] kinds = {"q", "k", "down", "q"};
        HasVqParams p = new HasVqParams(2, 32, 0.02, 20, 4, 9);
        try (Arena arena = Arena.ofConfined()) {
            List<HasVqQuantizer.Input> in = new ArrayList<>();
            List<float[]> ws = new ArrayList<>();
            List<float[]> hs = new ArrayList<>();
            for (int i = 0; i < shapes.length; i++) {
                float[] w = TestData.weights(shapes[i][0], shapes[i][1], 10 + i);
                // matrices at very different scales: pooling must normalise each by its own row scales
                for (int j = 0; j < w.length; j++) {
                    w[j] *= (float) Math.pow(10, i - 1);
                }
                float[] h = TestData.hessian(shapes[i][1], 20 + i);
                ws.add(w);
                hs.add(h);
                in.add(new HasVqQuantizer.Input("blk." + i + "." + kinds[i], kinds[i],
                        TestData.f32("w", w, shapes[i][0], shapes[i][1], arena), h));
            }
            for (CodebookScope scope : new CodebookScope[] {CodebookScope.KIND, CodebookScope.MODEL}) {
                HasVqQuantizer.Result r = HasVqQuantizer.quantize(in, p, scope, cpu, arena, s -> { });
                assertEquals(scope == CodebookScope.MODEL ? 1 : 3, r.sharedCodebooks().size(), scope.label());
                if (scope == CodebookScope.MODEL) {
                    for (VqLinear q : r.layers()) {
                        assertSame(r.sharedCodebooks().get(0), q.codebook());
                    }
                } else {
                    assertSame(r.layers().get(0).codebook(), r.layers().get(3).codebook());
                    assertEquals("kind:down", r.layers().get(2).codebook().name());
                }
                for (int i = 0; i < shapes.length; i++) {
                    VqLinear q = r.layers().get(i);
                    assertEquals(in.get(i).name(), q.name());
                    assertInvariants(q, ws.get(i), hs.get(i), p, arena);
                }
                assertMultiplies(r.layers().get(2), r.layers().get(2).dequantizeInJava(), arena);
            }
        }
    }

    @Test
    void centroidsBeyondTheAvailableVectorsAreClampedWithAWarning() {
        try (Arena arena = Arena.ofConfined()) {
            float[] w = TestData.weights(10, 30, 5); // 300 weights, b = 2: 150 vectors
            HasVqParams p = new HasVqParams(2, 2048, 0.0, 200, 3, 1);
            List<String> log = new ArrayList<>();
            HasVqQuantizer.Result r = HasVqQuantizer.quantize(
                    List.of(new HasVqQuantizer.Input("small", "o", TestData.f32("w", w, 10, 30, arena), null)), p,
                    CodebookScope.MATRIX, cpu, arena, log::add);
            VqLinear q = r.layers().get(0);
            assertEquals(128, q.codebook().k());
            assertEquals(7, q.bits());
            assertEquals(1, r.warnings().size());
            assertTrue(r.warnings().get(0).contains("2048 centroids exceed the 150 available vectors; using K = 128"),
                    r.warnings().get(0));
            assertTrue(log.stream().anyMatch(s -> s.startsWith("warning: ")));
            assertInvariants(q, w, null, p, arena);
        }
    }

    @Test
    void multiTileGemmNeverNeedsTheWholeMatrix() {
        int rows = 700;
        int cols = 451; // 315 700 weights > one 262 144-element tile
        float[] w = TestData.weights(rows, cols, 8);
        HasVqParams p = new HasVqParams(4, 256, 0.01, 10, 2, 1);
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = TestData.f16("w", w, rows, cols, arena); // f16 source weights
            VqLinear q = HasVqQuantizer.quantize(List.of(new HasVqQuantizer.Input("big", "up", t, null)), p,
                    CodebookScope.MATRIX, cpu, arena, s -> { }).layers().get(0);
            assertTrue(RowTiles.tileRows(rows, cols, VqLinear.TILE_ELEMENTS) < rows);
            assertMultiplies(q, q.dequantizeInJava(), arena);
        }
    }

    @Test
    void rtnLayersMultiplyLikeTheirDecodedMatrix() {
        try (Arena arena = Arena.ofConfined()) {
            for (RtnParams p : new RtnParams[] {RtnParams.INT4_ROW, new RtnParams(3, 32, false)}) {
                int rows = 301;
                int cols = 250; // 75 250 weights > one 65 536-element tile
                float[] w = TestData.weights(rows, cols, 3);
                RtnLinear q = Rtn.quantize("r", TestData.f32("w", w, rows, cols, arena), p, arena);
                MemorySegment dq = arena.allocate((long) rows * cols * 4, 64);
                q.dequantizeRows(dq, 0, rows);
                float[] what = new float[rows * cols];
                MemorySegment.copy(dq, LittleEndian.F32, 0, what, 0, what.length);
                assertMultiplies(q, what, arena);
            }
        }
    }
}
