package dev.jvq.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.backend.CpuBackend;
import dev.jvq.backend.PqLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The native RSAVQ kernels (jvq_pq_gemv, jvq_pq_dequant_rows through CpuBackend) on random layers with
 * mixed code widths, random permutations and short last sub-vectors: GEMV against a float64 reference,
 * dequantisation bit for bit as the Java reference, 1 vs 2 threads bit-identical, and bad arguments
 * refused with an exception.
 */
class RsavqKernelTest {

    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = new CpuBackend();
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    @AfterEach
    void allThreads() {
        cpu.setThreads(0);
    }

    static float[] randomX(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }

    static MemorySegment f32(Arena arena, float[] a) {
        return arena.allocateFrom(ValueLayout.JAVA_FLOAT, a);
    }

    /** |got_i - Σ_j w_ij x_j| <= 1e-5 · Σ_j |w_ij x_j| for every row, the sums in float64. */
    static void assertMatchesFloat64(float[] w, float[] x, float[] got, int rows, int cols, String what) {
        for (int i = 0; i < rows; i++) {
            double want = 0, mag = 0;
            for (int j = 0; j < cols; j++) {
                want += (double) w[i * cols + j] * x[j];
                mag += Math.abs((double) w[i * cols + j] * x[j]);
            }
            assertTrue(Math.abs(got[i] - want) <= 1e-5 * mag + 1e-30,
                    what + ": row " + i + " got " + got[i] + " want " + want);
        }
    }

    /** GEMV on 1 and on 2 threads: each against float64, and the two bit-identical. */
    static void assertGemvMatchesFloat64OnOneAndTwoThreads(RsavqLinear layer, float[] x, Arena arena, int rows,
            int cols) {
        float[] w = layer.dequantizeInJava();
        float[][] y = new float[2][];
        for (int threads = 1; threads <= 2; threads++) {
            cpu.setThreads(threads);
            MemorySegment out = arena.allocate(4L * rows);
            layer.gemv(cpu, f32(arena, x), out);
            y[threads - 1] = out.toArray(ValueLayout.JAVA_FLOAT);
            assertMatchesFloat64(w, x, y[threads - 1], rows, cols, threads + " thread(s)");
        }
        assertArrayEquals(y[0], y[1], "gemv, 1 vs 2 threads");
    }

    @ParameterizedTest
    @CsvSource({
        "67,45,3,2,true",
        "67,45,3,2,false",
        "130,77,2,1,true",
        "130,77,2,1,false",
        "64,172,3,2,true",
        "64,172,4,2,false",
        "300,260,5,3,true"}) // an unspecialised sub-vector length
    void gemvMatchesFloat64AndDequantMatchesJava(int rows, int cols, int subLength, int subspaces, boolean scales) {
        Random rnd = new Random(rows * 31L + cols * 7L + subLength + (scales ? 1 : 0));
        try (Arena arena = Arena.ofConfined()) {
            RsavqLinear layer = RsavqLayers.random(rnd, arena, "t", rows, cols, subLength, subspaces,
                    RsavqLayers.split(cols, 4), new int[] {6, 9, 12, 3}, scales, null);
            float[] w = layer.dequantizeInJava();
            float[] x = randomX(rnd, cols);
            MemorySegment y = arena.allocate(4L * rows);
            layer.gemv(cpu, f32(arena, x), y);
            assertMatchesFloat64(w, x, y.toArray(ValueLayout.JAVA_FLOAT), rows, cols, "gemv");

            MemorySegment dst = arena.allocate(4L * rows * cols);
            layer.dequantizeRows(cpu, dst, 0, rows);
            assertArrayEquals(w, dst.toArray(ValueLayout.JAVA_FLOAT), "dequantised rows");
            // a row range starting and ending inside sub-vectors
            int row0 = Math.min(rows - 1, subLength + 1), nrows = Math.min(rows - row0, 2 * subLength + 1);
            MemorySegment part = arena.allocate(4L * nrows * cols);
            layer.dequantizeRows(cpu, part, row0, nrows);
            float[] wantPart = new float[nrows * cols];
            System.arraycopy(w, row0 * cols, wantPart, 0, nrows * cols);
            assertArrayEquals(wantPart, part.toArray(ValueLayout.JAVA_FLOAT), "rows from " + row0);

            // gemm = one dequantised tile at a time through the dense kernel
            int n = 3;
            float[] xs = randomX(rnd, n * cols);
            MemorySegment ys = arena.allocate(4L * n * rows);
            layer.gemm(cpu, f32(arena, xs), ys, n);
            float[] got = ys.toArray(ValueLayout.JAVA_FLOAT);
            for (int t = 0; t < n; t++) {
                float[] xt = new float[cols];
                System.arraycopy(xs, t * cols, xt, 0, cols);
                float[] yt = new float[rows];
                System.arraycopy(got, t * rows, yt, 0, rows);
                assertMatchesFloat64(w, xt, yt, rows, cols, "gemm token " + t);
            }
        }
    }

    /** 1003 rows: the second thread's first sub-vector is odd for every length, so the paired vector paths start off-pair. */
    @ParameterizedTest
    @CsvSource({"3", "4", "2"})
    void oneAndTwoThreadsAreBitIdentical(int subLength) {
        Random rnd = new Random(5 + subLength);
        int rows = 1003, cols = 300;
        try (Arena arena = Arena.ofConfined()) {
            RsavqLinear layer = RsavqLayers.random(rnd, arena, "t", rows, cols, subLength, 2, RsavqLayers.split(cols, 4),
                    new int[] {6, 9, 12, 3}, true, null);
            MemorySegment x = f32(arena, randomX(rnd, cols));
            float[][] y = new float[2][];
            float[][] d = new float[2][];
            for (int threads = 1; threads <= 2; threads++) {
                cpu.setThreads(threads);
                MemorySegment out = arena.allocate(4L * rows);
                layer.gemv(cpu, x, out);
                y[threads - 1] = out.toArray(ValueLayout.JAVA_FLOAT);
                MemorySegment dst = arena.allocate(4L * rows * cols);
                layer.dequantizeRows(cpu, dst, 0, rows);
                d[threads - 1] = dst.toArray(ValueLayout.JAVA_FLOAT);
            }
            assertArrayEquals(y[0], y[1], "gemv, 1 vs 2 threads");
            assertArrayEquals(d[0], d[1], "dequantisation, 1 vs 2 threads");
        }
    }

    /**
     * The rsavq-2 layout at a size where the kernel switches to its pair tables (two 6-bit codes as one
     * 12-bit index into side-by-side codewords; taken only when a group has ≥ 8× more codes than the
     * table has entries, 4096): 601 × 392 with two groups of 196 columns, 201 sub-vectors each, so
     * 39,396 codes per group. Checked against float64, and 1 vs 2 threads.
     */
    @ParameterizedTest
    @CsvSource({"3,6", "4,8", "3,3"})
    void pairTablePathOfLargeSixBitGroups(int subLength, int bits) {
        Random rnd = new Random(17 + subLength);
        int rows = 601, cols = 392;
        try (Arena arena = Arena.ofConfined()) {
            RsavqLinear layer = RsavqLayers.random(rnd, arena, "t", rows, cols, subLength, 2, new int[] {196, 196},
                    new int[] {bits, bits}, true, null);
            assertGemvMatchesFloat64OnOneAndTwoThreads(layer, randomX(rnd, cols), arena, rows, cols);
        }
    }

    /**
     * Groups of 1- to 4-bit codes, whose whole widened codebook (every subspace) is at most 32 floats:
     * the AVX-512 build holds those in registers. 1003 rows, so tiles of 16 or 32 sub-vectors leave
     * tails and the second thread starts off-tile; groups whose table is larger (4-bit codes of 4-lane
     * codewords, 3-bit ones with 2 subspaces) sit beside them. Checked against float64, and 1 vs 2 threads.
     */
    @ParameterizedTest
    @CsvSource({"2,1,2,4,1,3", "2,3,2,1,2,3", "3,2,2,1,2,3", "4,1,3,2,4,1", "3,1,3,2,1,2"})
    void smallCodebooksOfFewBitGroups(int subLength, int subspaces, int b0, int b1, int b2, int b3) {
        Random rnd = new Random(29 + subLength * 7L + subspaces);
        int rows = 1003, cols = 157;
        try (Arena arena = Arena.ofConfined()) {
            RsavqLinear layer = RsavqLayers.random(rnd, arena, "t", rows, cols, subLength, subspaces,
                    RsavqLayers.split(cols, 4), new int[] {b0, b1, b2, b3}, true, null);
            assertGemvMatchesFloat64OnOneAndTwoThreads(layer, randomX(rnd, cols), arena, rows, cols);
        }
    }

    /**
     * Layers built again and again over freshly allocated segments — which malloc often places at the
     * addresses of the ones just freed, making the new layer an equal record — each multiply with
     * their own kernel arguments, never with those of a closed arena.
     */
    @Test
    void layersOverReusedAddressesKeepTheirOwnKernelArguments() {
        for (int i = 0; i < 20; i++) {
            try (Arena arena = Arena.ofConfined()) {
                RsavqLinear layer = RsavqLayers.random(new java.util.Random(5), arena, "w", 37, 24, 3, 2,
                        new int[] {12, 12}, new int[] {6, 9}, true, null);
                MemorySegment x = arena.allocate(4L * 24);
                for (int j = 0; j < 24; j++) {
                    x.setAtIndex(ValueLayout.JAVA_FLOAT, j, 0.5f - j * 0.03f);
                }
                MemorySegment y = arena.allocate(4L * 37);
                layer.gemv(cpu, x, y);
                float[] w = layer.dequantizeInJava();
                for (int r = 0; r < 37; r++) {
                    double ref = 0;
                    for (int j = 0; j < 24; j++) {
                        ref += (double) w[r * 24 + j] * x.getAtIndex(ValueLayout.JAVA_FLOAT, j);
                    }
                    assertEquals(ref, y.getAtIndex(ValueLayout.JAVA_FLOAT, r), 1e-4 * (1 + Math.abs(ref)));
                }
            }
        }
    }

    @Test
    void codeBeyondTheCodebookReadsNaNNotMemory() {
        try (Arena arena = Arena.ofConfined()) {
            int rows = 4, cols = 2, l = 2;
            MemorySegment perm = arena.allocateFrom(ValueLayout.JAVA_INT, 1, 0);
            MemorySegment cb = arena.allocate(2L * 5 * l);
            for (int e = 0; e < 5 * l; e++) {
                cb.setAtIndex(LittleEndian.I16, e, Float.floatToFloat16(1f));
            }
            MemorySegment codes = arena.allocate(BitPacker.packedBytes(4, 3) + BitPacker.TAIL_BYTES);
            BitPacker.pack(new int[] {0, 7, 1, 2}, 3, codes); // code 7 >= k = 5: stored column 0, sub-vector 1
            RsavqLinear layer = new RsavqLinear("bad", rows, cols, l, 1, perm,
                    List.of(new PqGroup(0, cols, 3, 5, new Codebook(null, 5, l, cb), codes)), null);
            MemorySegment y = arena.allocate(4L * rows);
            layer.gemv(cpu, arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1f, 1f), y);
            float[] got = y.toArray(ValueLayout.JAVA_FLOAT);
            assertEquals(2f, got[0]);
            assertEquals(2f, got[1]);
            assertTrue(Float.isNaN(got[2]) && Float.isNaN(got[3]), "rows of the bad code are NaN");
            MemorySegment dst = arena.allocate(4L * rows * cols);
            layer.dequantizeRows(cpu, dst, 0, rows);
            assertTrue(Float.isNaN(dst.getAtIndex(ValueLayout.JAVA_FLOAT, 2 * cols + 1)), "stored column 0 is column 1");
            assertFalse(Float.isNaN(dst.getAtIndex(ValueLayout.JAVA_FLOAT, 2 * cols)));
        }
    }

    @Test
    void badArgumentsAreRefused() {
        Random rnd = new Random(9);
        try (Arena arena = Arena.ofConfined()) {
            int rows = 20, cols = 10;
            RsavqLinear layer = RsavqLayers.random(rnd, arena, "t", rows, cols, 3, 2, new int[] {4, 6},
                    new int[] {5, 8}, true, null);
            PqLayout ok = layer.kernelLayout();
            MemorySegment x = f32(arena, randomX(rnd, cols));
            MemorySegment y = arena.allocate(4L * rows);
            assertThrows(IllegalArgumentException.class, () -> cpu.pqGemv(ok, x.asSlice(0, 4L * (cols - 1)), y));
            assertThrows(IllegalArgumentException.class, () -> cpu.pqGemv(ok, x, y.asSlice(0, 4L * (rows - 1))));
            assertThrows(IllegalArgumentException.class, () -> cpu.pqGemv(ok, x, MemorySegment.ofArray(new float[rows])));
            assertThrows(IllegalArgumentException.class,
                    () -> cpu.pqDequantRows(ok, arena.allocate(4L * rows * cols), 5, rows - 4));
            assertThrows(IllegalArgumentException.class, () -> cpu.pqDequantRows(ok, arena.allocate(4L * cols), 0, 2));

            PqGroup g0 = layer.groups().get(0), g1 = layer.groups().get(1);
            MemorySegment[] codes = {g0.codes(), g1.codes()};
            MemorySegment[] books = {g0.codebook().data(), g1.codebook().data()};
            int[] starts = {0, 4, cols};
            int[] bits = {5, 8};
            int[] k = {g0.k(), g1.k()};
            MemorySegment perm = layer.permutation();
            MemorySegment s = layer.rowScales();
            // a well-formed layout is accepted
            new PqLayout(rows, cols, 3, 2, perm, starts, bits, k, codes, books, s);
            assertThrows(IllegalArgumentException.class,
                    () -> new PqLayout(rows, cols, 3, 2, perm, new int[] {0, 5, cols}, bits, k, codes, books, s));
            assertThrows(IllegalArgumentException.class,
                    () -> new PqLayout(rows, cols, 3, 2, perm, new int[] {0, 4, cols - 1}, bits, k, codes, books, s));
            assertThrows(IllegalArgumentException.class,
                    () -> new PqLayout(rows, cols, 3, 2, perm, starts, new int[] {5, 25}, k, codes, books, s));
            assertThrows(IllegalArgumentException.class,
                    () -> new PqLayout(rows, cols, 3, 2, perm, starts, bits, new int[] {g0.k(), g1.k() + 1}, codes, books, s));
            assertThrows(IllegalArgumentException.class, () -> new PqLayout(rows, cols, 3, 2, perm, starts, bits, k,
                    new MemorySegment[] {codes[0], codes[1].asSlice(0, codes[1].byteSize() - 1)}, books, s));
            assertThrows(IllegalArgumentException.class,
                    () -> new PqLayout(rows + 3, cols, 3, 2, perm, starts, bits, k, codes, books, s));
            assertThrows(IllegalArgumentException.class,
                    () -> new PqLayout(rows, cols, 3, 2, perm, starts, bits, k, codes, books, s.asSlice(0, 2)));
            assertThrows(IllegalArgumentException.class,
                    () -> new PqLayout(rows, cols, 0, 2, perm, starts, bits, k, codes, books, s));
            MemorySegment badPerm = arena.allocate(4L * cols);
            badPerm.copyFrom(perm);
            badPerm.setAtIndex(ValueLayout.JAVA_INT, 3, cols);
            assertThrows(IllegalArgumentException.class,
                    () -> new PqLayout(rows, cols, 3, 2, badPerm, starts, bits, k, codes, books, s));
        }
    }

    @Test
    void aLayoutWhoseMemoryIsFreedIsRefused() {
        Random rnd = new Random(11);
        PqLayout layout;
        Arena arena = Arena.ofConfined();
        RsavqLinear layer = RsavqLayers.random(rnd, arena, "t", 12, 8, 2, 1, new int[] {8}, new int[] {4}, false, null);
        layout = layer.kernelLayout();
        arena.close();
        try (Arena live = Arena.ofConfined()) {
            MemorySegment x = live.allocate(4L * 8), y = live.allocate(4L * 12);
            assertThrows(RuntimeException.class, () -> cpu.pqGemv(layout, x, y));
        }
    }
}
