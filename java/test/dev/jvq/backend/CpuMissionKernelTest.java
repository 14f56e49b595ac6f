package dev.jvq.backend;

import static dev.jvq.backend.NativeArrays.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The mission kernels (Hessian diagonal, k-means assignment, sparse scatter, VQ GEMV/dequant). */
class CpuMissionKernelTest {

    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = new CpuBackend();
    }

    @AfterEach
    void allThreads() {
        cpu.setThreads(0);
    }

    // ---- Hessian diagonal ----

    @Test
    void hessianDiagonalIsExactAndThreadIndependent() {
        int n = 37, d = 1031;
        Random rnd = new Random(1);
        float[] x = randomF32(rnd, n * d);
        double[] h0 = new double[d];
        for (int j = 0; j < d; j++) {
            h0[j] = rnd.nextDouble();
        }
        double[] want = h0.clone();
        for (int t = 0; t < n; t++) {
            for (int j = 0; j < d; j++) {
                want[j] += (double) x[t * d + j] * x[t * d + j]; // x² is exact in f64: same order, same bits
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment xs = f32(arena, x);
            for (int threads : new int[] {1, 2}) {
                cpu.setThreads(threads);
                MemorySegment h = f64(arena, h0);
                cpu.hessianDiagAccumulate(h, xs, n, d);
                assertArrayEquals(want, toF64(h), threads + " threads");
            }
        }
    }

    // ---- k-means assignment ----

    record Assignment(int[] idx, float[] dist2, double[] sums, long[] counts) {}

    static Assignment assign(Arena arena, float[] v, int m, float[] c, int k, int b, double[] sums0, long[] counts0) {
        MemorySegment idx = arena.allocate(4L * m), d2 = arena.allocate(4L * m);
        MemorySegment sums = f64(arena, sums0), counts = i64(arena, counts0);
        cpu.kmeansAssign(f32(arena, v), m, f32(arena, c), k, b, idx, d2, sums, counts);
        return new Assignment(toI32(idx), toF32(d2), toF64(sums), toI64(counts));
    }

    static double dist(float[] v, int i, float[] c, int j, int b) {
        double s = 0;
        for (int d = 0; d < b; d++) {
            double e = (double) v[i * b + d] - c[j * b + d];
            s += e * e;
        }
        return s;
    }

    @ParameterizedTest
    @CsvSource({"2053,300,4", "2053,2100,4", "1000,257,2", "777,131,8", "500,67,1", "500,67,3", "300,90,13",
            "200,45,70", "1,1,4", "9,1,5"})
    void kmeansAssignMatchesFloat64(int m, int k, int b) {
        Random rnd = new Random(m * 31L + k * 7L + b);
        float[] v = randomF32(rnd, m * b), c = randomF32(rnd, k * b);
        if (k > 20) {
            // Exact duplicates: vectors equal to either copy must get the lower index, even when the
            // copies lie in different lanes, groups of 8 or centroid blocks.
            int dup = k - 3;
            System.arraycopy(c, 5 * b, c, dup * b, b);
            System.arraycopy(c, 5 * b, v, 0, b);
            System.arraycopy(c, 5 * b, v, (m - 1) * b, b);
        }
        double[] sums0 = new double[k * b];
        long[] counts0 = new long[k];
        for (int j = 0; j < k; j++) {
            counts0[j] = rnd.nextInt(5);
            for (int d = 0; d < b; d++) {
                sums0[j * b + d] = rnd.nextGaussian();
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            cpu.setThreads(1);
            Assignment one = assign(arena, v, m, c, k, b, sums0, counts0);
            cpu.setThreads(2);
            Assignment two = assign(arena, v, m, c, k, b, sums0, counts0);
            assertArrayEquals(one.idx(), two.idx());
            assertArrayEquals(one.dist2(), two.dist2());
            assertArrayEquals(one.sums(), two.sums(), "sums must be bit-identical for 1 and 2 threads");
            assertArrayEquals(one.counts(), two.counts());

            double[] sums = sums0.clone();
            long[] counts = counts0.clone();
            int nearTies = 0;
            for (int i = 0; i < m; i++) {
                int best = 0;
                double bd = dist(v, i, c, 0, b);
                for (int j = 1; j < k; j++) {
                    double dj = dist(v, i, c, j, b);
                    if (dj < bd) {
                        bd = dj;
                        best = j;
                    }
                }
                int got = two.idx()[i];
                if (got != best) {
                    // Only a genuine near-tie (within f32 rounding of the distances) may differ.
                    double dg = dist(v, i, c, got, b);
                    assertTrue(got >= 0 && got < k && dg - bd <= 1e-6 * (bd + 1e-6),
                            "vector " + i + ": got " + got + " (" + dg + ") but nearest is " + best + " (" + bd + ")");
                    nearTies++;
                }
                assertEquals(dist(v, i, c, got, b), two.dist2()[i], 1e-6 * (bd + 1e-3), "dist2 of vector " + i);
                counts[got]++;
                for (int d = 0; d < b; d++) {
                    sums[got * b + d] += v[i * b + d];
                }
            }
            assertTrue(nearTies <= m / 1000 + 1, nearTies + " near-ties");
            if (k > 20) {
                assertEquals(5, two.idx()[0]);
                assertEquals(5, two.idx()[m - 1]);
                assertEquals(0f, two.dist2()[0]);
            }
            assertArrayEquals(counts, two.counts());
            assertArrayEquals(sums, two.sums(), "sums in index order");
        }
    }

    @Test
    void kmeansWithoutOptionalOutputs() {
        Random rnd = new Random(5);
        int m = 100, k = 17, b = 4;
        float[] v = randomF32(rnd, m * b), c = randomF32(rnd, k * b);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment idx = arena.allocate(4L * m);
            cpu.kmeansAssign(f32(arena, v), m, f32(arena, c), k, b, idx, MemorySegment.NULL, MemorySegment.NULL,
                    MemorySegment.NULL);
            Assignment full = assign(arena, v, m, c, k, b, new double[k * b], new long[k]);
            assertArrayEquals(full.idx(), toI32(idx));
            assertThrows(IllegalArgumentException.class, () -> cpu.kmeansAssign(f32(arena, v), m, f32(arena, c), k,
                    b, idx, MemorySegment.NULL, arena.allocate(8L * k * b), MemorySegment.NULL));
        }
    }

    // ---- VQ layout ----

    /** A random HAS-VQ layer and its float64 dequantisation. */
    record VqLayer(int rows, int cols, int b, int bits, int k, byte[] codes, short[] codebook, short[] scale,
            int[] flatIdx, short[] val, double[] w) {

        static VqLayer random(Random rnd, int rows, int cols, int b, int bits, int k, int nnz) {
            long total = (long) rows * cols;
            int vectors = (int) ((total + b - 1) / b);
            int[] code = new int[vectors];
            for (int i = 0; i < vectors; i++) {
                code[i] = rnd.nextInt(k);
            }
            byte[] packed = pack(code, bits);
            short[] cb = toF16Bits(randomF32(rnd, k * b));
            float[] s = randomF32(rnd, rows);
            for (int i = 0; i < rows; i++) {
                s[i] = Math.abs(s[i]) * 0.1f + 0.01f;
            }
            short[] scale = toF16Bits(s);
            TreeSet<Integer> pos = new TreeSet<>();
            while (pos.size() < nnz) {
                pos.add(rnd.nextInt((int) total));
            }
            int[] flat = pos.stream().mapToInt(Integer::intValue).toArray();
            short[] val = toF16Bits(randomF32(rnd, nnz));
            double[] w = new double[(int) total];
            for (int f = 0; f < total; f++) {
                w[f] = Float.float16ToFloat(cb[code[f / b] * b + f % b]);
            }
            for (int p = 0; p < nnz; p++) {
                w[flat[p]] += Float.float16ToFloat(val[p]);
            }
            for (int f = 0; f < total; f++) {
                w[f] *= Float.float16ToFloat(scale[f / cols]);
            }
            return new VqLayer(rows, cols, b, bits, k, packed, cb, scale, flat, val, w);
        }

        /** LSB-first packing into little-endian bytes, plus the 8 zero bytes of padding. */
        static byte[] pack(int[] code, int bits) {
            byte[] out = new byte[(int) ((long) code.length * bits + 7) / 8 + 8];
            long bit = 0;
            for (int c : code) {
                for (int t = 0; t < bits; t++, bit++) {
                    if ((c >>> t & 1) != 0) {
                        out[(int) (bit >>> 3)] |= (byte) (1 << (bit & 7));
                    }
                }
            }
            return out;
        }

        MemorySegment[] segments(Arena arena) {
            return new MemorySegment[] {bytes(arena, codes), u16(arena, codebook), u16(arena, scale),
                flatIdx.length == 0 ? MemorySegment.NULL : i32(arena, flatIdx),
                val.length == 0 ? MemorySegment.NULL : u16(arena, val)};
        }
    }

    @ParameterizedTest
    @CsvSource({
        "37,131,4,1,2,0", "37,131,4,7,100,50", "37,131,4,8,256,0", "37,131,4,11,2048,97", "37,131,4,13,5000,10",
        "19,131,4,16,40000,30", // 40000 x 4 codebook: heap table
        "64,256,4,11,2048,300", "33,67,2,11,2048,40", "33,67,8,8,200,40", "33,67,3,7,99,40", "33,67,1,5,20,40",
        "21,100,16,9,300,12", "21,100,13,9,300,12", "5,3,4,24,9,2", "1,1,4,3,5,1", "7,64,8,24,11,0",
        "33,67,2,7,100,40", "29,90,2,13,5000,60", // b = 2 groups with bits other than 11
        "40,300,4,11,2048,3000"})                 // ~75 residuals a row: several 16-wide residual steps
    void vqGemvAndDequantMatchFloat64(int rows, int cols, int b, int bits, int k, int nnz) {
        Random rnd = new Random(rows * 1_000_003L + cols * 1009L + b * 31L + bits);
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
            for (int threads : new int[] {1, 2}) {
                cpu.setThreads(threads);
                cpu.vqGemv(s[0], bits, s[1], k, b, s[2], s[3], s[4], nnz, f32(arena, x), y, rows, cols);
                double err = relErr(toF32(y), want);
                assertTrue(err < 1e-5, "vq_gemv " + threads + " threads: " + err);
            }

            // Dequantise an inner row range: f32 arithmetic s * (R + S), so exact against the same ops.
            int row0 = Math.min(3, rows - 1), nrows = Math.max(1, rows - row0 - 2);
            MemorySegment dst = arena.allocate(4L * nrows * cols);
            cpu.vqDequantRows(s[0], bits, s[1], k, b, s[2], s[3], s[4], nnz, dst, row0, nrows, cols);
            float[] got = toF32(dst);
            float[] exact = new float[nrows * cols];
            for (int e = 0; e < exact.length; e++) {
                int f = row0 * cols + e;
                int vec = f / b;
                exact[e] = Float.float16ToFloat(q.codebook()[codeOf(q, vec) * b + f % b]);
            }
            for (int p = 0; p < q.flatIdx().length; p++) {
                int f = q.flatIdx()[p];
                if (f >= row0 * cols && f < (row0 + nrows) * cols) {
                    exact[f - row0 * cols] += Float.float16ToFloat(q.val()[p]);
                }
            }
            for (int e = 0; e < exact.length; e++) {
                exact[e] *= Float.float16ToFloat(q.scale()[row0 + e / cols]);
            }
            assertArrayEquals(exact, got, "dequantised rows " + row0 + ".." + (row0 + nrows));
        }
    }

    static int codeOf(VqLayer q, int vec) {
        int c = 0;
        for (int t = 0; t < q.bits(); t++) {
            long bit = (long) vec * q.bits() + t;
            c |= ((q.codes()[(int) (bit >>> 3)] >>> (bit & 7)) & 1) << t;
        }
        return c;
    }

    @Test
    void outOfRangeCodesGiveNaNNotACrash() {
        int rows = 3, cols = 8, b = 4, bits = 4, k = 3;
        int[] code = {0, 1, 2, 15, 2, 1}; // vector 3 (row 1) uses code 15 >= k
        byte[] packed = VqLayer.pack(code, bits);
        Random rnd = new Random(9);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment y = arena.allocate(4L * rows);
            cpu.vqGemv(bytes(arena, packed), bits, u16(arena, toF16Bits(randomF32(rnd, k * b))), k, b,
                    u16(arena, toF16Bits(new float[] {1, 1, 1})), MemorySegment.NULL, MemorySegment.NULL, 0,
                    f32(arena, randomF32(rnd, cols)), y, rows, cols);
            float[] got = toF32(y);
            assertTrue(!Float.isNaN(got[0]) && Float.isNaN(got[1]) && !Float.isNaN(got[2]),
                    java.util.Arrays.toString(got));
        }
    }

    /** A code >= k inside a row's whole groups (the grouped and AVX-512 gather paths) reads the NaN row. */
    @ParameterizedTest
    @CsvSource({"4,11,2000", "2,11,2000", "2,7,100", "4,9,300", "8,9,300"})
    void outOfRangeCodesInsideGroupsGiveNaN(int b, int bits, int k) {
        int rows = 5, cols = 40 * b; // 40 vectors a row: 5 whole groups of 8
        int vectors = rows * cols / b;
        Random rnd = new Random(b * 100 + bits);
        int[] code = new int[vectors];
        for (int v = 0; v < vectors; v++) {
            code[v] = rnd.nextInt(k);
        }
        code[2 * 40 + 21] = (1 << bits) - 1; // row 2, inside its third group
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment y = arena.allocate(4L * rows);
            cpu.vqGemv(bytes(arena, VqLayer.pack(code, bits)), bits, u16(arena, toF16Bits(randomF32(rnd, k * b))), k,
                    b, u16(arena, toF16Bits(new float[] {1, 1, 1, 1, 1})), MemorySegment.NULL, MemorySegment.NULL, 0,
                    f32(arena, randomF32(rnd, cols)), y, rows, cols);
            float[] got = toF32(y);
            for (int i = 0; i < rows; i++) {
                assertEquals(i == 2, Float.isNaN(got[i]), java.util.Arrays.toString(got));
            }
        }
    }

    @Test
    void vqArgumentsAreChecked() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment codes = arena.allocate(10); // 16 codes x 4 bits = 8 bytes + 8 padding needed
            MemorySegment cb = arena.allocate(2 * 16 * 4), sc = arena.allocate(2 * 8);
            MemorySegment x = arena.allocate(4 * 8), y = arena.allocate(4 * 8);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.vqGemv(codes, 4, cb, 16, 4, sc, MemorySegment.NULL, MemorySegment.NULL, 0, x, y, 8, 8));
            assertTrue(e.getMessage().startsWith("codes:"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> cpu.vqGemv(arena.allocate(64), 25, cb, 16, 4, sc,
                    MemorySegment.NULL, MemorySegment.NULL, 0, x, y, 8, 8));
            assertThrows(IllegalArgumentException.class, () -> cpu.vqGemv(arena.allocate(64), 4, cb, 16, 4, sc,
                    MemorySegment.NULL, MemorySegment.NULL, 3, x, y, 8, 8));
        }
    }

    // ---- sparse scatter ----

    @ParameterizedTest
    @CsvSource({"true,40", "false,40", "true,0", "true,1"})
    void sparseScatterAddsTheResidualsOfTheRowRange(boolean scaled, int nnz) {
        int rows = 23, cols = 37, row0 = 5, nrows = 9;
        Random rnd = new Random(nnz + (scaled ? 1 : 0));
        TreeSet<Integer> pos = new TreeSet<>();
        pos.add(row0 * cols); // first and last element of the range, and just outside it
        pos.add((row0 + nrows) * cols - 1);
        pos.add(row0 * cols - 1);
        pos.add((row0 + nrows) * cols);
        while (pos.size() < nnz + 4) {
            pos.add(rnd.nextInt(rows * cols));
        }
        int[] flat = pos.stream().mapToInt(Integer::intValue).limit(Math.max(nnz, 0) == 0 ? 0 : pos.size())
                .toArray();
        short[] val = toF16Bits(randomF32(rnd, flat.length));
        short[] scale = toF16Bits(randomF32(rnd, rows));
        float[] dst0 = randomF32(rnd, nrows * cols);
        float[] want = dst0.clone();
        for (int p = 0; p < flat.length; p++) {
            int r = flat[p] / cols;
            if (r >= row0 && r < row0 + nrows) {
                float s = scaled ? Float.float16ToFloat(scale[r]) : 1f;
                want[flat[p] - row0 * cols] += Float.float16ToFloat(val[p]) * s;
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dst = f32(arena, dst0);
            cpu.sparseScatter(dst, row0, nrows, cols, flat.length == 0 ? MemorySegment.NULL : i32(arena, flat),
                    flat.length == 0 ? MemorySegment.NULL : u16(arena, val), flat.length,
                    scaled ? u16(arena, scale) : MemorySegment.NULL);
            assertArrayEquals(want, toF32(dst));
        }
    }
}
