package dev.jvq.backend;

import static dev.jvq.backend.NativeArrays.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every CUDA kernel against its CPU twin (the native kernels, themselves tested against float64
 * references) on random data at sizes that are not multiples of the tile, warp or vector widths.
 * Runs only where a CUDA device is found; elsewhere JUnit reports it skipped.
 */
@EnabledIf("dev.jvq.backend.GpuTwinTest#gpuPresent")
class GpuKernelsTest extends GpuTwinTest {

    /** max |got - want| within tol times the largest |want| (sums of many terms differ in rounding order). */
    static void assertClose(float[] got, float[] want, double tol, String what) {
        assertEquals(want.length, got.length, what + ": length");
        double scale = 0, worst = 0;
        int at = -1;
        for (int i = 0; i < want.length; i++) {
            scale = Math.max(scale, Math.abs(want[i]));
        }
        for (int i = 0; i < want.length; i++) {
            double e = Math.abs((double) got[i] - want[i]);
            if (!(e <= worst)) {
                worst = e;
                at = i;
            }
        }
        assertTrue(scale > 0, what + ": reference is all zeros");
        assertTrue(worst <= tol * scale, what + ": max error " + worst + " at " + at + " (gpu " + (at < 0 ? 0 : got[at])
                + ", cpu " + (at < 0 ? 0 : want[at]) + "), allowed " + tol * scale);
    }

    static void assertClose(double[] got, double[] want, double tol, String what) {
        float[] g = new float[got.length], w = new float[want.length];
        for (int i = 0; i < got.length; i++) {
            g[i] = (float) got[i];
            w[i] = (float) want[i];
        }
        assertClose(g, w, tol, what);
    }

    static MemorySegment weightsOf(Arena arena, DType t, float[] w) {
        return switch (t) {
            case F32 -> f32(arena, w);
            case F16 -> u16(arena, toF16Bits(w));
            case BF16 -> u16(arena, toBf16Bits(w));
            default -> throw new IllegalArgumentException(t.toString());
        };
    }

    // ---- dense ----

    @ParameterizedTest
    @CsvSource({"F32, 37, 1001", "F32, 50, 1024", "F16, 37, 1001", "F16, 50, 1024", "BF16, 37, 1001", "BF16, 61, 1032",
            "F32, 1, 3"})
    void gemv(DType t, int rows, int cols) {
        Random rnd = new Random(rows * 31L + cols);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment w = weightsOf(a, t, randomF32(rnd, rows * cols));
            MemorySegment x = f32(a, randomF32(rnd, cols));
            MemorySegment yg = a.allocate(4L * rows), yc = a.allocate(4L * rows);
            gpu.gemv(t, w, x, yg, rows, cols);
            cpu.gemv(t, w, x, yc, rows, cols);
            assertClose(toF32(yg), toF32(yc), 1e-5, "gemv " + t);
            // The same weights as a read-only segment: cached on the device, reused by the second call.
            MemorySegment wro = w.asReadOnly();
            gpu.gemv(t, wro, x, yg, rows, cols);
            long cached = gpu.cachedWeightBytes();
            assertTrue(cached >= w.byteSize(), "read-only weights are cached");
            gpu.gemv(t, wro, x, yg, rows, cols);
            assertEquals(cached, gpu.cachedWeightBytes(), "second call reuses the cached copy");
            assertClose(toF32(yg), toF32(yc), 1e-5, "gemv " + t + " cached");
        }
    }

    @ParameterizedTest
    @CsvSource({"F32, 5, 67, 129", "F32, 70, 33, 200", "F16, 5, 67, 129", "F16, 70, 33, 200", "BF16, 3, 130, 65"})
    void gemm(DType t, int n, int rows, int cols) {
        Random rnd = new Random(n * 7919L + rows * 31L + cols);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment w = weightsOf(a, t, randomF32(rnd, rows * cols));
            MemorySegment x = f32(a, randomF32(rnd, n * cols));
            MemorySegment yg = a.allocate(4L * n * rows), yc = a.allocate(4L * n * rows);
            gpu.gemm(t, w, x, yg, n, rows, cols);
            cpu.gemm(t, w, x, yc, n, rows, cols);
            assertClose(toF32(yg), toF32(yc), 1e-5, "gemm " + t);
        }
    }

    @ParameterizedTest
    @CsvSource({"67, 71, 129, false", "67, 71, 129, true", "1, 5, 3, true", "130, 1, 77, false"})
    void sgemm(int m, int n, int k, boolean accumulate) {
        Random rnd = new Random(m * 31L + n * 17L + k);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment am = f32(a, randomF32(rnd, m * k)), bm = f32(a, randomF32(rnd, k * n));
            float[] c0 = randomF32(rnd, m * n);
            MemorySegment cg = f32(a, c0), cc = f32(a, c0);
            gpu.sgemm(am, bm, cg, m, n, k, accumulate);
            cpu.sgemm(am, bm, cc, m, n, k, accumulate);
            assertClose(toF32(cg), toF32(cc), 1e-5, "sgemm");
        }
    }

    // ---- element-wise ----

    @Test
    void rmsnormSeparateAndInPlace() {
        Random rnd = new Random(1);
        int n = 7, dim = 1003;
        try (Arena a = Arena.ofConfined()) {
            float[] x0 = randomF32(rnd, n * dim);
            MemorySegment x = f32(a, x0), w = f32(a, randomF32(rnd, dim));
            MemorySegment og = a.allocate(4L * n * dim), oc = a.allocate(4L * n * dim);
            gpu.rmsnorm(og, x, w, n, dim, 1e-5f);
            cpu.rmsnorm(oc, x, w, n, dim, 1e-5f);
            assertClose(toF32(og), toF32(oc), 1e-6, "rmsnorm");
            MemorySegment xg = f32(a, x0);
            gpu.rmsnorm(xg, xg, w, n, dim, 1e-5f); // out == x
            assertClose(toF32(xg), toF32(oc), 1e-6, "rmsnorm in place");
        }
    }

    @Test
    void softmax() {
        Random rnd = new Random(2);
        int n = 5, len = 1001;
        try (Arena a = Arena.ofConfined()) {
            float[] x0 = randomF32(rnd, n * len);
            for (int i = 0; i < x0.length; i++) {
                x0[i] *= 20; // a spread that makes the max subtraction matter
            }
            MemorySegment xg = f32(a, x0), xc = f32(a, x0);
            gpu.softmax(xg, n, len);
            cpu.softmax(xc, n, len);
            assertClose(toF32(xg), toF32(xc), 1e-5, "softmax");
        }
    }

    @ParameterizedTest
    @CsvSource({"INTERLEAVED", "HALVES"})
    void rope(RopeStyle style) {
        Random rnd = new Random(3 + style.ordinal());
        int nTokens = 5, nHeads = 3, headDim = 42;
        try (Arena a = Arena.ofConfined()) {
            float[] x0 = randomF32(rnd, nTokens * nHeads * headDim);
            int[] pos = {0, 1, 17, 300, 4095};
            float[] invFreq = new float[headDim / 2];
            for (int i = 0; i < invFreq.length; i++) {
                invFreq[i] = (float) Math.pow(10000, -2.0 * i / headDim);
            }
            MemorySegment xg = f32(a, x0), xc = f32(a, x0), p = i32(a, pos), f = f32(a, invFreq);
            gpu.rope(xg, nTokens, nHeads, headDim, p, f, style);
            cpu.rope(xc, nTokens, nHeads, headDim, p, f, style);
            assertClose(toF32(xg), toF32(xc), 1e-5, "rope " + style);
        }
    }

    @Test
    void siluMulAndAdd() {
        Random rnd = new Random(4);
        int n = 100_003;
        try (Arena a = Arena.ofConfined()) {
            float[] g0 = randomF32(rnd, n);
            for (int i = 0; i < n; i++) {
                g0[i] *= 12;
            }
            MemorySegment gg = f32(a, g0), gc = f32(a, g0), up = f32(a, randomF32(rnd, n));
            gpu.siluMul(gg, up, n);
            cpu.siluMul(gc, up, n);
            assertClose(toF32(gg), toF32(gc), 1e-6, "silu_mul");
            gpu.add(gg, up, n);
            cpu.add(gc, up, n);
            assertClose(toF32(gg), toF32(gc), 1e-6, "add");
        }
    }

    @ParameterizedTest
    @CsvSource({"5, 37, 6, 2, 48", "1, 0, 4, 4, 64", "3, 100, 8, 1, 80", "2, 20, 2, 2, 128", "1, 60000, 2, 1, 64"})
    void attention(int nQ, int qPos0, int nHeads, int nKv, int headDim) {
        Random rnd = new Random(nQ * 1000L + qPos0 + headDim);
        int kvLen = qPos0 + nQ;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment q = f32(a, randomF32(rnd, nQ * nHeads * headDim));
            MemorySegment k = f32(a, randomF32(rnd, kvLen * nKv * headDim));
            MemorySegment v = f32(a, randomF32(rnd, kvLen * nKv * headDim));
            MemorySegment og = a.allocate(4L * nQ * nHeads * headDim), oc = a.allocate(4L * nQ * nHeads * headDim);
            float scale = (float) (1 / Math.sqrt(headDim)) * 4; // sharper than usual, so the softmax is not flat
            gpu.attention(og, q, k, v, nQ, qPos0, nHeads, nKv, headDim, scale);
            cpu.attention(oc, q, k, v, nQ, qPos0, nHeads, nKv, headDim, scale);
            assertClose(toF32(og), toF32(oc), 2e-5, "attention");
        }
    }

    // ---- mission kernels ----

    @Test
    void hessianDiagAccumulates() {
        Random rnd = new Random(5);
        int nTokens = 333, d = 515;
        try (Arena a = Arena.ofConfined()) {
            double[] h0 = new double[d];
            for (int j = 0; j < d; j++) {
                h0[j] = rnd.nextDouble() + 0.5;
            }
            MemorySegment hg = f64(a, h0), hc = f64(a, h0), x = f32(a, randomF32(rnd, nTokens * d));
            for (int rep = 0; rep < 2; rep++) {
                gpu.hessianDiagAccumulate(hg, x, nTokens, d);
                cpu.hessianDiagAccumulate(hc, x, nTokens, d);
            }
            double[] g = toF64(hg), c = toF64(hc);
            for (int j = 0; j < d; j++) {
                assertEquals(c[j], g[j], 1e-6 * c[j], "h[" + j + "]"); // f32 or f64 squares: both sides sum in f64
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"1003, 37, 4", "1003, 37, 1", "999, 300, 2", "517, 2500, 4", "301, 19, 8", "257, 23, 5"})
    void kmeansAssign(int m, int k, int b) {
        Random rnd = new Random(m * 13L + k * 7L + b);
        try (Arena a = Arena.ofConfined()) {
            float[] v = randomF32(rnd, m * b), c = randomF32(rnd, k * b);
            MemorySegment vs = f32(a, v), cs = f32(a, c);
            MemorySegment ig = a.allocate(4L * m), ic = a.allocate(4L * m);
            MemorySegment dg = a.allocate(4L * m), dc = a.allocate(4L * m);
            double[] sums0 = new double[k * b];
            long[] counts0 = new long[k];
            for (int i = 0; i < k; i++) {
                counts0[i] = 3; // accumulated onto, not cleared
            }
            MemorySegment sg = f64(a, sums0), ng = i64(a, counts0);
            gpu.kmeansAssign(vs, m, cs, k, b, ig, dg, sg, ng);
            cpu.kmeansAssign(vs, m, cs, k, b, ic, dc, MemorySegment.NULL, MemorySegment.NULL);
            int[] gi = toI32(ig), ci = toI32(ic);
            float[] gd = toF32(dg), cd = toF32(dc);
            double[] wantSums = new double[k * b];
            long[] wantCounts = counts0.clone();
            for (int i = 0; i < m; i++) {
                if (gi[i] != ci[i]) { // only a near-tie may go either way
                    double dgi = dist(v, i, c, gi[i], b), dci = dist(v, i, c, ci[i], b);
                    assertEquals(dci, dgi, 1e-6 * (1 + dci), "vector " + i + ": gpu " + gi[i] + ", cpu " + ci[i]);
                }
                assertEquals(cd[i], gd[i], 1e-6f * (1 + cd[i]), "dist2[" + i + "]");
                wantCounts[gi[i]]++;
                for (int t = 0; t < b; t++) {
                    wantSums[gi[i] * b + t] += v[i * b + t];
                }
            }
            assertArrayEquals(wantCounts, toI64(ng), "counts");
            double[] gs = toF64(sg);
            for (int e = 0; e < k * b; e++) {
                assertEquals(wantSums[e], gs[e], 1e-9, "sums[" + e + "]");
            }
        }
    }

    static double dist(float[] v, int i, float[] c, int j, int b) {
        double s = 0;
        for (int t = 0; t < b; t++) {
            double d = (double) v[i * b + t] - c[j * b + t];
            s += d * d;
        }
        return s;
    }

    /** A random HAS-VQ layer: codes packed LSB-first with 8 bytes of padding, f16 codebook/scales/residuals. */
    record VqLayer(MemorySegment codes, int bits, MemorySegment codebook, long k, long b, MemorySegment rowScale,
            MemorySegment flatIdx, MemorySegment val, long nnz, int rows, int cols) {}

    static VqLayer vqLayer(Arena a, Random rnd, int rows, int cols, int k, int b, int bits, double density,
            boolean readOnly) {
        long vectors = ((long) rows * cols + b - 1) / b;
        byte[] stream = new byte[(int) ((vectors * bits + 7) / 8 + 8)];
        for (long v = 0; v < vectors; v++) {
            long code = rnd.nextInt(k);
            for (int t = 0; t < bits; t++) {
                long bit = v * bits + t;
                if ((code >> t & 1) != 0) {
                    stream[(int) (bit >> 3)] |= (byte) (1 << (bit & 7));
                }
            }
        }
        float[] scales = new float[rows];
        for (int i = 0; i < rows; i++) {
            scales[i] = 0.25f + rnd.nextFloat();
        }
        TreeSet<Integer> omega = new TreeSet<>();
        int want = (int) (density * rows * cols);
        while (omega.size() < want) {
            omega.add(rnd.nextInt(rows * cols));
        }
        int[] idx = omega.stream().mapToInt(Integer::intValue).toArray();
        MemorySegment codes = bytes(a, stream), cb = u16(a, toF16Bits(randomF32(rnd, k * b)));
        MemorySegment rs = u16(a, toF16Bits(scales)), fi = i32(a, idx), val = u16(a, toF16Bits(randomF32(rnd, idx.length)));
        if (readOnly) {
            codes = codes.asReadOnly();
            cb = cb.asReadOnly();
            rs = rs.asReadOnly();
            fi = fi.asReadOnly();
            val = val.asReadOnly();
        }
        return new VqLayer(codes, bits, cb, k, b, rs, fi, val, idx.length, rows, cols);
    }

    @ParameterizedTest
    @CsvSource({"67, 131, 300, 4, 9, 0.02, true", "67, 131, 300, 4, 9, 0.02, false", "40, 257, 2048, 2, 11, 0.03, true",
            "33, 5, 64, 8, 6, 0.1, true", "50, 99, 65536, 2, 16, 0.0, true", "9, 1000, 4096, 3, 12, 0.05, false"})
    void vqGemvAndDequant(int rows, int cols, int k, int b, int bits, double density, boolean readOnly) {
        Random rnd = new Random(rows * 1000L + cols + k);
        try (Arena a = Arena.ofConfined()) {
            VqLayer l = vqLayer(a, rnd, rows, cols, k, b, bits, density, readOnly);
            MemorySegment x = f32(a, randomF32(rnd, cols));
            MemorySegment yg = a.allocate(4L * rows), yc = a.allocate(4L * rows);
            gpu.vqGemv(l.codes, l.bits, l.codebook, l.k, l.b, l.rowScale, l.flatIdx, l.val, l.nnz, x, yg, rows, cols);
            cpu.vqGemv(l.codes, l.bits, l.codebook, l.k, l.b, l.rowScale, l.flatIdx, l.val, l.nnz, x, yc, rows, cols);
            assertClose(toF32(yg), toF32(yc), 1e-5, "vq_gemv");

            int row0 = Math.min(3, rows - 1), nrows = rows - row0 - (rows > 5 ? 1 : 0);
            MemorySegment dg = a.allocate(4L * nrows * cols), dc = a.allocate(4L * nrows * cols);
            gpu.vqDequantRows(l.codes, l.bits, l.codebook, l.k, l.b, l.rowScale, l.flatIdx, l.val, l.nnz, dg, row0, nrows,
                    cols);
            cpu.vqDequantRows(l.codes, l.bits, l.codebook, l.k, l.b, l.rowScale, l.flatIdx, l.val, l.nnz, dc, row0, nrows,
                    cols);
            // Same order of operations as the CPU twin ((R + S) * s, each rounded once): bit-identical.
            assertArrayEquals(toF32(dc), toF32(dg), "vq_dequant_rows");
        }
    }

    @ParameterizedTest
    @CsvSource({"true, true", "true, false", "false, true", "false, false"})
    void sparseScatter(boolean scaled, boolean readOnly) {
        Random rnd = new Random(scaled ? 7 : 8);
        int rows = 40, cols = 77, row0 = 5, nrows = 20;
        try (Arena a = Arena.ofConfined()) {
            VqLayer l = vqLayer(a, rnd, rows, cols, 16, 4, 4, 0.1, readOnly);
            float[] d0 = randomF32(rnd, nrows * cols);
            MemorySegment dg = f32(a, d0), dc = f32(a, d0);
            MemorySegment rs = scaled ? l.rowScale : MemorySegment.NULL;
            gpu.sparseScatter(dg, row0, nrows, cols, l.flatIdx, l.val, l.nnz, rs);
            cpu.sparseScatter(dc, row0, nrows, cols, l.flatIdx, l.val, l.nnz, rs);
            assertArrayEquals(toF32(dc), toF32(dg), "sparse_scatter: one rounded product and one add per element");
        }
    }

    @Test
    void corruptCodeGivesANaNRowOnBothBackends() {
        int rows = 4, cols = 6, k = 5, b = 2, bits = 3;
        byte[] stream = new byte[(rows * cols / b * bits + 7) / 8 + 8];
        for (int v = 0; v < rows * cols / b; v++) {
            int code = v == 4 ? 7 : v % k; // vector 4 holds elements 8, 9: row 1
            for (int t = 0; t < bits; t++) {
                if ((code >> t & 1) != 0) {
                    stream[(v * bits + t) >> 3] |= (byte) (1 << ((v * bits + t) & 7));
                }
            }
        }
        Random rnd = new Random(9);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment codes = bytes(a, stream), cb = u16(a, toF16Bits(randomF32(rnd, k * b)));
            MemorySegment x = f32(a, randomF32(rnd, cols)), yg = a.allocate(4L * rows), yc = a.allocate(4L * rows);
            MemorySegment none = MemorySegment.NULL;
            gpu.vqGemv(codes, bits, cb, k, b, none, none, none, 0, x, yg, rows, cols);
            cpu.vqGemv(codes, bits, cb, k, b, none, none, none, 0, x, yc, rows, cols);
            float[] g = toF32(yg), c = toF32(yc);
            for (int r = 0; r < rows; r++) {
                assertEquals(Float.isNaN(c[r]), Float.isNaN(g[r]), "row " + r);
                assertEquals(r == 1, Float.isNaN(g[r]), "only row 1 reads the bad code");
            }
            MemorySegment dg = a.allocate(4L * rows * cols), dc = a.allocate(4L * rows * cols);
            gpu.vqDequantRows(codes, bits, cb, k, b, none, none, none, 0, dg, 0, rows, cols);
            cpu.vqDequantRows(codes, bits, cb, k, b, none, none, none, 0, dc, 0, rows, cols);
            assertArrayEquals(toF32(dc), toF32(dg), "NaN where the CPU has NaN, equal elsewhere");
        }
    }
}
