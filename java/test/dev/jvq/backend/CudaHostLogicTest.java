package dev.jvq.backend;

import static dev.jvq.backend.NativeArrays.i32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The host-side parts of the CUDA backend that need no device: residual range search, padding, checks. */
class CudaHostLogicTest {

    @Test
    void lowerBoundMatchesALinearScan() {
        Random rnd = new Random(11);
        try (Arena a = Arena.ofConfined()) {
            for (int trial = 0; trial < 200; trial++) {
                int n = rnd.nextInt(300);
                int[] v = new int[n];
                for (int i = 0; i < n; i++) {
                    v[i] = rnd.nextInt(1000);
                }
                Arrays.sort(v);
                MemorySegment s = i32(a, v);
                for (int probe = 0; probe < 20; probe++) {
                    long key = rnd.nextInt(1100) - 50;
                    long want = 0;
                    while (want < n && v[(int) want] < key) {
                        want++;
                    }
                    assertEquals(want, CudaBackend.lowerBound(s, n, key), "n=" + n + " key=" + key);
                }
            }
        }
    }

    @Test
    void deviceBuffersArePaddedAndAligned() {
        for (long bytes : new long[] {0, 1, 3, 239, 240, 241, 256, 1000, 1L << 31}) {
            long p = CudaMemory.padded(bytes);
            assertEquals(0, p % CudaMemory.ALIGN, "aligned: " + bytes);
            // Room for the GEMV's word loads and the code reader's 8-byte loads past the data.
            assertEquals(true, p >= bytes + CudaMemory.PAD, "padded: " + bytes);
            assertEquals(true, p < bytes + CudaMemory.PAD + CudaMemory.ALIGN, "no more than needed: " + bytes);
        }
    }

    @Test
    void segmentChecksMatchTheCpuBackendRules() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(16);
            SegmentChecks.in(s, "x", 16);
            SegmentChecks.in(MemorySegment.NULL, "x", 0);
            assertEquals("x: 16 bytes but 17 are needed",
                    assertThrows(IllegalArgumentException.class, () -> SegmentChecks.in(s, "x", 17)).getMessage());
            assertThrows(IllegalArgumentException.class, () -> SegmentChecks.out(s.asReadOnly(), "y", 4));
            assertThrows(IllegalArgumentException.class, () -> SegmentChecks.in(MemorySegment.ofArray(new float[4]), "x", 4));
            assertThrows(IllegalArgumentException.class, () -> SegmentChecks.in(MemorySegment.NULL, "x", 4));
            assertThrows(IllegalArgumentException.class, () -> SegmentChecks.dims("n", -1L));
            assertThrows(ArithmeticException.class, () -> SegmentChecks.mul(Long.MAX_VALUE / 2, 3));
            SegmentChecks.optionalIn(MemorySegment.NULL, "rowScale", 100);
        }
    }
}
