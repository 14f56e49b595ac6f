package dev.jvq.backend;

import static dev.jvq.backend.NativeArrays.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** GEMV, GEMM and SGEMM against float64 references, at sizes that are not multiples of the tiles. */
class CpuDenseKernelTest {

    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = new CpuBackend();
    }

    @AfterAll
    static void close() {
        cpu.setThreads(0);
        cpu.close();
    }

    /** Weights in the given dtype and their exact f32 values. */
    record Weights(MemorySegment seg, float[] exact) {}

    static Weights weights(Arena arena, DType t, float[] w) {
        return switch (t) {
            case F32 -> new Weights(f32(arena, w), w);
            case F16 -> {
                short[] h = toF16Bits(w);
                yield new Weights(u16(arena, h), fromF16Bits(h));
            }
            case BF16 -> {
                short[] h = toBf16Bits(w);
                yield new Weights(u16(arena, h), fromBf16Bits(h));
            }
            default -> throw new IllegalArgumentException(t.toString());
        };
    }

    static double[] refGemm(float[] w, float[] x, int n, int rows, int cols) {
        double[] y = new double[n * rows];
        for (int t = 0; t < n; t++) {
            for (int r = 0; r < rows; r++) {
                double s = 0;
                for (int j = 0; j < cols; j++) {
                    s += (double) w[r * cols + j] * x[t * cols + j];
                }
                y[t * rows + r] = s;
            }
        }
        return y;
    }

    @ParameterizedTest
    @CsvSource({"F32,1,1", "F32,67,131", "F32,257,1023", "F32,5,7", "F32,4,16", "F16,1,1", "F16,67,131",
            "F16,257,1023", "BF16,1,1", "BF16,67,131", "BF16,257,1023", "BF16,3,9"})
    void gemvMatchesFloat64(DType t, int rows, int cols) {
        Random rnd = new Random(rows * 31L + cols + t.ordinal());
        try (Arena arena = Arena.ofConfined()) {
            Weights w = weights(arena, t, randomF32(rnd, rows * cols));
            float[] x = randomF32(rnd, cols);
            MemorySegment y = arena.allocate(4L * rows);
            cpu.gemv(t, w.seg(), f32(arena, x), y, rows, cols);
            double err = relErr(toF32(y), refGemm(w.exact(), x, 1, rows, cols));
            assertTrue(err < 1e-5, t + " " + rows + "x" + cols + ": relative error " + err);
        }
    }

    @Test
    void gemvIsTheSameWithOneThreadAndAll() {
        Random rnd = new Random(7);
        int rows = 301, cols = 517;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = f32(arena, randomF32(rnd, rows * cols));
            MemorySegment x = f32(arena, randomF32(rnd, cols));
            MemorySegment y1 = arena.allocate(4L * rows), y2 = arena.allocate(4L * rows);
            cpu.setThreads(1);
            cpu.gemv(DType.F32, w, x, y1, rows, cols);
            cpu.setThreads(0);
            cpu.gemv(DType.F32, w, x, y2, rows, cols);
            assertArrayEquals(toF32(y1), toF32(y2));
        }
    }

    @ParameterizedTest
    @CsvSource({"F32,1,67,131", "F32,2,67,131", "F32,13,131,300", "F32,7,1,1", "F32,67,257,1023",
            "F16,13,131,300", "F16,6,16,256", "BF16,13,131,300", "BF16,19,33,257"})
    void gemmMatchesFloat64(DType t, int n, int rows, int cols) {
        Random rnd = new Random(n * 1000003L + rows * 31L + cols);
        try (Arena arena = Arena.ofConfined()) {
            Weights w = weights(arena, t, randomF32(rnd, rows * cols));
            float[] x = randomF32(rnd, n * cols);
            MemorySegment y = arena.allocate(4L * n * rows);
            y.fill((byte) 0x7f); // garbage: the kernel must overwrite, not accumulate
            cpu.gemm(t, w.seg(), f32(arena, x), y, n, rows, cols);
            double[] want = refGemm(w.exact(), x, n, rows, cols);
            float[] got = toF32(y);
            for (int i = 0; i < n; i++) { // each output row is its own dot-product vector
                float[] g = java.util.Arrays.copyOfRange(got, i * rows, (i + 1) * rows);
                double[] r = java.util.Arrays.copyOfRange(want, i * rows, (i + 1) * rows);
                double err = relErr(g, r);
                assertTrue(err < 1e-5, t + " n=" + n + " " + rows + "x" + cols + " row " + i + ": " + err);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"1,1,1,false", "1,1,1,true", "7,19,300,false", "13,67,131,true", "67,131,257,false",
            "5,3,0,true", "5,3,0,false", "130,70,520,true"})
    void sgemmMatchesFloat64(int m, int n, int k, boolean accumulate) {
        Random rnd = new Random(m * 7919L + n * 31L + k);
        try (Arena arena = Arena.ofConfined()) {
            float[] a = randomF32(rnd, m * k), b = randomF32(rnd, k * n), c0 = randomF32(rnd, m * n);
            MemorySegment c = f32(arena, c0);
            cpu.sgemm(f32(arena, a), f32(arena, b), c, m, n, k, accumulate);
            double[] want = new double[m * n];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = accumulate ? c0[i * n + j] : 0;
                    for (int p = 0; p < k; p++) {
                        s += (double) a[i * k + p] * b[p * n + j];
                    }
                    want[i * n + j] = s;
                }
            }
            double err = relErr(toF32(c), want);
            assertTrue(err < 1e-5, m + "x" + n + "x" + k + " acc=" + accumulate + ": " + err);
        }
    }

    @Test
    void undersizedOrReadOnlySegmentsAreRejectedBeforeNativeCode() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(4L * 10 * 10), x = arena.allocate(40), y = arena.allocate(40);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.gemv(DType.F32, w, x, arena.allocate(36), 10, 10));
            assertTrue(e.getMessage().startsWith("y:"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> cpu.gemv(DType.F32, w, x, y.asReadOnly(), 10, 10));
            assertThrows(IllegalArgumentException.class, () -> cpu.gemv(DType.I32, w, x, y, 10, 10));
            assertThrows(IllegalArgumentException.class, () -> cpu.gemv(DType.F32, w, x, y, -1, 10));
            assertThrows(IllegalArgumentException.class,
                    () -> cpu.gemv(DType.F32, MemorySegment.ofArray(new float[100]), x, y, 10, 10));
            assertEquals("cpu", cpu.name());
            assertTrue(cpu.describe().startsWith("cpu: "), cpu.describe());
        }
    }
}
