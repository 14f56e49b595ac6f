package dev.jvq.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.jvq.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class RtnTest {

    /** Float64 reference of one RTN grid: the dequantised matrix. Scales are rounded to fp16 first. */
    static double[] reference(float[] w, int rows, int cols, RtnParams p, double[] fracOut) {
        double[] out = new double[w.length];
        int g = p.groupLength(cols);
        int qmax = p.symmetricMax();
        int levels = (1 << p.bits()) - 1;
        for (int r = 0; r < rows; r++) {
            for (int c0 = 0; c0 < cols; c0 += g) {
                int end = Math.min(cols, c0 + g);
                if (p.symmetric()) {
                    double amax = 0;
                    for (int c = c0; c < end; c++) {
                        amax = Math.max(amax, Math.abs(w[r * cols + c]));
                    }
                    double s = TestData.half((float) (amax / qmax));
                    for (int c = c0; c < end; c++) {
                        double x = s == 0 ? 0 : w[r * cols + c] / s;
                        fracOut[r * cols + c] = x - Math.floor(x);
                        double q = Math.max(-qmax, Math.min(qmax, Math.rint(x)));
                        out[r * cols + c] = s * q;
                    }
                } else {
                    double lo = Double.MAX_VALUE;
                    double hi = -Double.MAX_VALUE;
                    for (int c = c0; c < end; c++) {
                        lo = Math.min(lo, w[r * cols + c]);
                        hi = Math.max(hi, w[r * cols + c]);
                    }
                    double s = TestData.half((float) ((hi - lo) / levels));
                    double lo16 = TestData.half((float) lo);
                    for (int c = c0; c < end; c++) {
                        double x = s == 0 ? 0 : (w[r * cols + c] - lo16) / s;
                        fracOut[r * cols + c] = x - Math.floor(x);
                        double q = Math.max(0, Math.min(levels, Math.rint(x)));
                        out[r * cols + c] = lo16 + q * s;
                    }
                }
            }
        }
        return out;
    }

    private static void check(int rows, int cols, RtnParams p, boolean f16Input) {
        try (Arena arena = Arena.ofConfined()) {
            float[] w = TestData.weights(rows, cols, rows * 31L + cols);
            if (f16Input) {
                for (int i = 0; i < w.length; i++) {
                    w[i] = TestData.half(w[i]);
                }
            }
            Tensor t = f16Input ? TestData.f16("w", w, rows, cols, arena) : TestData.f32("w", w, rows, cols, arena);
            RtnLinear q = Rtn.quantize("w", t, p, arena);
            MemorySegment dq = arena.allocate((long) rows * cols * 4);
            q.dequantizeRows(dq, 0, rows);
            double[] frac = new double[w.length];
            double[] ref = reference(w, rows, cols, p, frac);
            int g = p.groupLength(cols);
            long gpr = p.groupsPerRow(cols);
            for (int i = 0; i < w.length; i++) {
                float got = dq.getAtIndex(LittleEndian.F32, i);
                float s = Float.float16ToFloat(q.scales().getAtIndex(LittleEndian.I16, (i / cols) * gpr + (i % cols) / g));
                if (Math.abs(got - ref[i]) > 1e-6 * Math.max(1, Math.abs(ref[i]))) {
                    // float vs double division may only disagree right at a rounding midpoint
                    if (Math.abs(frac[i] - 0.5) > 1e-5) {
                        fail(p.methodName() + " element " + i + ": " + got + " vs reference " + ref[i]);
                    }
                }
                assertTrue(Math.abs(got - w[i]) <= s * 0.5 + 1e-6, p.methodName() + " error bound at " + i);
            }
            // dequantising a middle tile equals the same rows of the whole
            int row0 = rows / 3;
            int nr = rows - row0 - 1;
            MemorySegment part = arena.allocate((long) nr * cols * 4);
            q.dequantizeRows(part, row0, nr);
            assertEquals(-1, part.mismatch(dq.asSlice((long) row0 * cols * 4, (long) nr * cols * 4)));
            assertEquals((long) rows * gpr, q.groups());
            if (p.symmetric()) {
                assertNull(q.zeros());
            }
        }
    }

    @Test
    void paperInt4PerRow() {
        check(23, 77, RtnParams.INT4_ROW, false);
        check(5, 172, RtnParams.INT4_ROW, true);
    }

    @Test
    void asymmetricGroupsWithShortLastGroup() {
        check(19, 100, new RtnParams(4, 32, false), false); // 100 = 3·32 + 4
        check(7, 64, new RtnParams(3, 32, false), true);
        check(9, 13, new RtnParams(2, 5, false), false);
        check(4, 33, new RtnParams(8, 64, false), false); // group longer than the row
    }

    @Test
    void symmetricGroups() {
        check(11, 50, new RtnParams(3, 7, true), false);
        check(3, 9, new RtnParams(8, 4, true), false);
    }

    @Test
    void zeroRowsAndConstantGroupsStayExact() {
        try (Arena arena = Arena.ofConfined()) {
            int rows = 3;
            int cols = 10;
            float[] w = TestData.weights(rows, cols, 4);
            for (int c = 0; c < cols; c++) {
                w[c] = 0f; // an all-zero row
                w[cols + c] = 0.375f; // a constant row (exact in fp16)
            }
            for (RtnParams p : new RtnParams[] {RtnParams.INT4_ROW, new RtnParams(4, 4, false)}) {
                RtnLinear q = Rtn.quantize("w", TestData.f32("w", w, rows, cols, arena), p, arena);
                MemorySegment dq = arena.allocate((long) rows * cols * 4);
                q.dequantizeRows(dq, 0, rows);
                for (int c = 0; c < cols; c++) {
                    assertEquals(0f, dq.getAtIndex(LittleEndian.F32, c), p.methodName());
                    // asymmetric: zero scale, the stored minimum is exact; symmetric: 7·fp16(0.375/7)
                    assertEquals(0.375f, dq.getAtIndex(LittleEndian.F32, cols + c), p.symmetric() ? 2e-4f : 0f,
                            p.methodName());
                }
            }
        }
    }
}
