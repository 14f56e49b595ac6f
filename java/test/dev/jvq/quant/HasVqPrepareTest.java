package dev.jvq.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.JvqException;
import java.lang.foreign.Arena;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Steps 1–5 of HAS-VQ (no kernels involved) against a float64 reference. */
class HasVqPrepareTest {

    @Test
    void scalesOutliersAndMaskedBodyMatchReference() {
        int rows = 29;
        int cols = 45; // 45 mod 4 ≠ 0: vectors straddle rows, and 29·45 mod 4 ≠ 0: padding
        float[] w = TestData.weights(rows, cols, 21);
        float[] h = TestData.hessian(cols, 22);
        h[3] = 0f; // below the 1e-6 floor
        HasVqParams p = new HasVqParams(4, 16, 0.03, 10, 2, 1);
        try (Arena arena = Arena.ofConfined()) {
            HasVq.Prepared pm = HasVq.prepare("m", TestData.f32("m", w, rows, cols, arena), h, p, arena);
            // reference in float64, using the fp16 scale as the implementation documents
            double[] n = new double[rows * cols];
            double[] imp = new double[rows * cols];
            for (int r = 0; r < rows; r++) {
                double amax = 0;
                for (int c = 0; c < cols; c++) {
                    amax = Math.max(amax, Math.abs(w[r * cols + c]));
                }
                float s16 = TestData.half((float) Math.max(amax, 1e-6));
                assertEquals(s16, Float.float16ToFloat(pm.rowScales()[r]), "row scale " + r);
                for (int c = 0; c < cols; c++) {
                    n[r * cols + c] = w[r * cols + c] / (double) s16;
                    imp[r * cols + c] = Math.abs(n[r * cols + c]) * Math.sqrt(Math.max(h[c], 1e-6));
                }
            }
            int k = (int) Math.floor(0.03 * rows * cols);
            assertEquals(k, pm.outliers().length);
            int[] expected = IntStream.range(0, imp.length).boxed()
                    .sorted(Comparator.<Integer>comparingDouble(i -> -imp[i]).thenComparingInt(i -> i))
                    .limit(k).mapToInt(Integer::intValue).sorted().toArray();
            assertArrayEquals(expected, pm.outliers());
            assertEquals((rows * cols + 3) / 4, pm.vectors());
            boolean[] isOutlier = new boolean[rows * cols];
            for (int i = 0; i < k; i++) {
                isOutlier[pm.outliers()[i]] = true;
                assertEquals(n[pm.outliers()[i]], pm.outlierValues()[i], 1e-7 * Math.abs(n[pm.outliers()[i]]));
            }
            for (int f = 0; f < pm.vectors() * 4; f++) {
                float body = pm.body().getAtIndex(LittleEndian.F32, f);
                if (f >= rows * cols || isOutlier[f]) {
                    assertEquals(0f, body, "holes and padding are zeros at " + f);
                } else {
                    assertEquals(n[f], body, 1e-7 * Math.abs(n[f]), "body at " + f);
                }
            }
        }
    }

    @Test
    void outlierCountIsExactFloorOfTheDecimalProduct() {
        // 0.29 · 100 is 28.999999999999996 in binary floating point; the spec means 29.
        assertEquals(29, HasVq.outlierCount(0.29, 10, 10));
        assertEquals(29, HasVq.outlierCount(0.015, 37, 53)); // 29.415
        assertEquals(0, HasVq.outlierCount(0.0, 4096, 4096));
        assertEquals(251_658, HasVq.outlierCount(0.015, 2048, 8192));
    }

    @Test
    void noHessianMeansPlainMagnitude() {
        int rows = 8;
        int cols = 9;
        float[] w = TestData.weights(rows, cols, 5);
        try (Arena arena = Arena.ofConfined()) {
            HasVq.Prepared pm = HasVq.prepare("m", TestData.f32("m", w, rows, cols, arena), null,
                    new HasVqParams(2, 4, 0.1, 10, 1, 0), arena);
            double minOut = Double.MAX_VALUE;
            for (int i = 0; i < pm.outliers().length; i++) {
                minOut = Math.min(minOut, Math.abs(pm.outlierValues()[i]));
            }
            for (int f = 0; f < rows * cols; f++) {
                assertTrue(Math.abs(pm.body().getAtIndex(LittleEndian.F32, f)) <= minOut);
            }
        }
    }

    @Test
    void badInputsAreNamed() {
        try (Arena arena = Arena.ofConfined()) {
            float[] w = TestData.weights(3, 4, 1);
            HasVqParams p = new HasVqParams(2, 2, 0, 1, 1, 0);
            JvqException e = assertThrows(JvqException.class,
                    () -> HasVq.prepare("blk.0.wq", TestData.f32("x", w, 3, 4, arena), new float[3], p, arena));
            assertTrue(e.getMessage().startsWith("blk.0.wq: Hessian diagonal has 3 entries for 4"), e.getMessage());
            w[5] = Float.NaN;
            e = assertThrows(JvqException.class,
                    () -> HasVq.prepare("blk.0.wq", TestData.f32("blk.0.wq", w, 3, 4, arena), null, p, arena));
            assertTrue(e.getMessage().contains("non-finite weight NaN at row 1, column 1"), e.getMessage());
            w[5] = 1e6f;
            e = assertThrows(JvqException.class,
                    () -> HasVq.prepare("blk.0.wq", TestData.f32("blk.0.wq", w, 3, 4, arena), null, p, arena));
            assertTrue(e.getMessage().contains("fp16 range"), e.getMessage());
        }
    }
}
