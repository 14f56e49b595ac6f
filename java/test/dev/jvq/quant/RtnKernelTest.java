package dev.jvq.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.backend.CpuBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The native RTN kernels (jvq_rtn_gemv, jvq_rtn_dequant_rows) against float64 references built from
 * codes, scales and minima the test chooses itself (packed by the test's own bit loop), at odd sizes,
 * bits 2..8, per-row groups and groups of 32 and 7 that do not divide the row.
 */
class RtnKernelTest {

    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = new CpuBackend();
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    /** A layer with known codes u[rows*cols], scales and minima, and its float64 dense weights. */
    record Layer(RtnLinear q, double[] w, double[] absTerms) {}

    static Layer layer(int rows, int cols, RtnParams p, long seed, Arena arena) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = rows * cols;
        int g = p.groupLength(cols);
        int gpr = (int) p.groupsPerRow(cols);
        int[] u = new int[n];
        for (int i = 0; i < n; i++) {
            u[i] = rnd.nextInt(1 << p.bits());
        }
        // Pack LSB-first, independently of BitPacker: bit t of code i is stream bit i*bits + t.
        long bytes = BitPacker.packedBytes(n, p.bits()) + BitPacker.TAIL_BYTES;
        MemorySegment codes = arena.allocate(bytes);
        for (int i = 0; i < n; i++) {
            for (int t = 0; t < p.bits(); t++) {
                if (((u[i] >> t) & 1) != 0) {
                    long bit = (long) i * p.bits() + t;
                    byte old = codes.get(java.lang.foreign.ValueLayout.JAVA_BYTE, bit >> 3);
                    codes.set(java.lang.foreign.ValueLayout.JAVA_BYTE, bit >> 3, (byte) (old | (1 << (bit & 7))));
                }
            }
        }
        MemorySegment scales = arena.allocate((long) rows * gpr * 2);
        MemorySegment zeros = p.symmetric() ? null : arena.allocate((long) rows * gpr * 2);
        double[] s = new double[rows * gpr];
        double[] lo = new double[rows * gpr];
        for (int e = 0; e < rows * gpr; e++) {
            short hs = Float.floatToFloat16((float) (0.001 + 0.05 * rnd.nextDouble()));
            scales.setAtIndex(LittleEndian.I16, e, hs);
            s[e] = Float.float16ToFloat(hs);
            if (zeros != null) {
                short hl = Float.floatToFloat16((float) (rnd.nextDouble() - 0.7));
                zeros.setAtIndex(LittleEndian.I16, e, hl);
                lo[e] = Float.float16ToFloat(hl);
            }
        }
        int qmax = p.symmetricMax();
        double[] w = new double[n];
        double[] abs = new double[n];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int i = r * cols + c;
                int gi = r * gpr + c / g;
                w[i] = p.symmetric() ? s[gi] * (u[i] - qmax) : lo[gi] + u[i] * s[gi];
                abs[i] = p.symmetric() ? s[gi] * Math.abs(u[i] - qmax) : Math.abs(lo[gi]) + u[i] * s[gi];
            }
        }
        return new Layer(new RtnLinear("t", rows, cols, p, codes, scales, zeros), w, abs);
    }

    static MemorySegment randomX(int cols, long seed, Arena arena) {
        SplittableRandom rnd = new SplittableRandom(seed);
        MemorySegment x = arena.allocate(cols * 4L);
        for (int j = 0; j < cols; j++) {
            x.setAtIndex(LittleEndian.F32, j, (float) (2 * rnd.nextDouble() - 1));
        }
        return x;
    }

    static void check(int rows, int cols, RtnParams p) {
        try (Arena arena = Arena.ofConfined()) {
            Layer l = layer(rows, cols, p, rows * 1009L + cols * 31L + p.bits() * 7L + p.group(), arena);
            String what = p.methodName() + " " + rows + "x" + cols;
            // Dequantisation: the Java reference bit for bit, and the float64 weights.
            MemorySegment dqJava = arena.allocate((long) rows * cols * 4);
            MemorySegment dqNative = arena.allocate((long) rows * cols * 4);
            l.q().dequantizeRows(dqJava, 0, rows);
            l.q().dequantizeRows(cpu, dqNative, 0, rows);
            assertEquals(-1, dqNative.mismatch(dqJava), what + ": native dequantisation differs from RtnLinear's");
            for (int i = 0; i < rows * cols; i++) {
                double got = dqNative.getAtIndex(LittleEndian.F32, i);
                assertTrue(Math.abs(got - l.w()[i]) <= 1e-6 * Math.abs(l.w()[i]) + 1e-12, what + " weight " + i);
            }
            int row0 = rows / 3, nr = rows - row0 - 1;
            MemorySegment part = arena.allocate((long) Math.max(nr, 1) * cols * 4);
            l.q().dequantizeRows(cpu, part, row0, nr);
            assertEquals(-1, part.asSlice(0, (long) nr * cols * 4).mismatch(dqJava.asSlice((long) row0 * cols * 4,
                    (long) nr * cols * 4)), what + ": row range");
            // GEMV through the layer (the fused kernel) against float64.
            MemorySegment x = randomX(cols, cols + 17L * rows, arena);
            MemorySegment y = arena.allocate(rows * 4L);
            l.q().gemv(cpu, x, y);
            for (int r = 0; r < rows; r++) {
                double ref = 0, mag = 0;
                for (int c = 0; c < cols; c++) {
                    double xj = x.getAtIndex(LittleEndian.F32, c);
                    ref += l.w()[r * cols + c] * xj;
                    mag += l.absTerms()[r * cols + c] * Math.abs(xj);
                }
                double got = y.getAtIndex(LittleEndian.F32, r);
                assertTrue(Math.abs(got - ref) <= 2e-6 * mag + 1e-9, what + " row " + r + ": " + got + " vs " + ref);
            }
            // GEMM (dequantised tiles) agrees with GEMV row by row.
            int n = 3;
            MemorySegment xs = arena.allocate((long) n * cols * 4);
            for (int t = 0; t < n; t++) {
                MemorySegment.copy(randomX(cols, t * 5L + cols, arena), 0, xs, (long) t * cols * 4, cols * 4L);
            }
            MemorySegment ys = arena.allocate((long) n * rows * 4);
            l.q().gemm(cpu, xs, ys, n);
            MemorySegment y1 = arena.allocate(rows * 4L);
            l.q().gemv(cpu, xs.asSlice(cols * 4L, cols * 4L), y1);
            for (int r = 0; r < rows; r++) {
                double a = ys.getAtIndex(LittleEndian.F32, rows + r), b = y1.getAtIndex(LittleEndian.F32, r);
                double mag = 0;
                for (int c = 0; c < cols; c++) {
                    mag += l.absTerms()[r * cols + c] * Math.abs(xs.getAtIndex(LittleEndian.F32, cols + c));
                }
                assertTrue(Math.abs(a - b) <= 4e-6 * mag + 1e-9, what + " gemm row " + r);
            }
        }
    }

    @Test
    void everyWidthGroupAndGrid() {
        for (int bits = 2; bits <= 8; bits++) {
            for (int group : new int[] {0, 32, 7}) {
                for (boolean sym : new boolean[] {true, false}) {
                    RtnParams p = new RtnParams(bits, group, sym);
                    check(13, 131, p);  // odd rows start mid-byte; 131 % 32 and % 7 != 0
                    check(5, 37, p);
                }
            }
        }
    }

    @Test
    void singleColumnAndShortRows() {
        check(9, 1, new RtnParams(4, 0, true));
        check(9, 3, new RtnParams(3, 7, false));
        check(1, 17, new RtnParams(8, 32, true));
    }

    @Test
    void largeEnoughToRunThreaded() {
        check(301, 257, RtnParams.INT4_ROW);
        check(211, 389, new RtnParams(3, 32, false));
        check(150, 300, new RtnParams(4, 64, false));
    }

    /** The AVX2 4-bit path (even cols, row or 16-multiple groups, symmetric and not) at odd row counts. */
    @Test
    void fourBitWideningPathAtEvenColumnCounts() {
        check(64, 256, RtnParams.INT4_ROW);
        check(37, 2050, RtnParams.INT4_ROW);
        check(29, 48, new RtnParams(4, 16, true));
        check(31, 160, new RtnParams(4, 32, true));
        check(23, 96, new RtnParams(4, 32, false));
    }

    /**
     * Sizes for the 16-lane (AVX-512) steps: per range a 32-column step, one 16-column step and a
     * masked tail of 1..15, for every width from every bit offset (odd column counts start rows
     * mid-byte); 112 and 114 columns take the 4-bit permuted path through its 64-, 32- and
     * 16-column blocks (group 48 = 32 + 16), 114 with a 2-column remainder.
     */
    @Test
    void sixteenLaneStepsAndTails() {
        for (int bits = 2; bits <= 8; bits++) {
            for (int group : new int[] {0, 48}) {
                for (boolean sym : new boolean[] {true, false}) {
                    check(11, 115, new RtnParams(bits, group, sym)); // 3*32 + 16 + 3; groups 48 + 48 + 19
                }
            }
        }
        for (int group : new int[] {0, 48, 16}) {
            for (boolean sym : new boolean[] {true, false}) {
                check(7, 112, new RtnParams(4, group, sym));
                check(6, 114, new RtnParams(4, group, sym));
            }
        }
    }

    @Test
    void rejectsBadLayouts() {
        try (Arena arena = Arena.ofConfined()) {
            Layer l = layer(4, 40, new RtnParams(4, 0, true), 1, arena);
            MemorySegment x = randomX(40, 2, arena), y = arena.allocate(16);
            assertThrows(IllegalArgumentException.class,
                    () -> cpu.rtnGemv(l.q().codes(), 9, 0, true, l.q().scales(), MemorySegment.NULL, x, y, 4, 40));
            assertThrows(IllegalArgumentException.class, () -> cpu.rtnGemv(l.q().codes().asSlice(0, 10), 4, 0, true,
                    l.q().scales(), MemorySegment.NULL, x, y, 4, 40));
            assertThrows(IllegalArgumentException.class,
                    () -> cpu.rtnGemv(l.q().codes(), 4, 0, false, l.q().scales(), MemorySegment.NULL, x, y, 4, 40));
            assertThrows(IllegalArgumentException.class,
                    () -> cpu.rtnGemv(l.q().codes(), 4, 0, true, l.q().scales(), MemorySegment.NULL, x, y, 5, 40));
        }
    }
}
