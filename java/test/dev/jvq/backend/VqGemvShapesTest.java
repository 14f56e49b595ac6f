package dev.jvq.backend;

import static dev.jvq.backend.NativeArrays.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.backend.CpuMissionKernelTest.VqLayer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * jvq_vq_gemv at layer-like shapes (K = 2048 codewords, b = 2/4/8, rows not a multiple of the thread
 * split, cols with and without vectors straddling rows) against float64, and bit-identical for 1 and
 * 2 threads: a row's sum must not depend on how rows are split between threads.
 */
class VqGemvShapesTest {

    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = new CpuBackend();
    }

    @AfterEach
    void allThreads() {
        cpu.setThreads(0);
    }

    @ParameterizedTest
    @CsvSource({
        "257,1024,4,11,2048,4000", // whole codewords per row, K = 2048
        "257,1024,2,11,2048,4000", // b = 2
        "131,1000,8,9,300,500",    // b = 8
        "257,1026,4,11,2048,4000", // cols % b != 0: vectors straddle rows
        "100,1024,4,11,2048,900",  // more codewords than rows
        "97,1000,2,11,2048,20000"}) // ~200 residuals a row; rows alternately start mid-group
    void matchesFloat64AndIsThreadCountIndependent(int rows, int cols, int b, int bits, int k, int nnz) {
        Random rnd = new Random(rows * 7919L + cols * 31L + b);
        VqLayer q = VqLayer.random(rnd, rows, cols, b, bits, k, nnz);
        float[] x = randomF32(rnd, cols);
        double[] want = new double[rows];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                want[i] += q.w()[i * cols + j] * x[j];
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment[] s = q.segments(arena);
            MemorySegment y = arena.allocate(4L * rows);
            float[][] got = new float[2][];
            for (int threads = 1; threads <= 2; threads++) {
                cpu.setThreads(threads);
                cpu.vqGemv(s[0], bits, s[1], k, b, s[2], s[3], s[4], nnz, f32(arena, x), y, rows, cols);
                got[threads - 1] = toF32(y);
                double err = relErr(got[threads - 1], want);
                assertTrue(err < 1e-5, "vq_gemv " + threads + " threads: " + err);
            }
            assertArrayEquals(got[0], got[1], "1 and 2 threads must agree bit for bit");
        }
    }
}
