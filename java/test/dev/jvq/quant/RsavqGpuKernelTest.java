package dev.jvq.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.backend.GpuTwinTest;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The CUDA RSAVQ kernels (cuda/pq.cu) against their CPU twins; skipped without a usable GPU. */
@EnabledIf("dev.jvq.backend.GpuTwinTest#gpuPresent")
class RsavqGpuKernelTest extends GpuTwinTest {

    @ParameterizedTest
    @CsvSource({"67,45,3,2,true", "130,77,2,1,false", "64,172,3,2,true", "1000,300,4,2,true", "70,33,40,1,false"})
    void gemvAndDequantMatchTheCpu(int rows, int cols, int subLength, int subspaces, boolean scales) {
        Random rnd = new Random(rows * 13L + cols);
        try (Arena arena = Arena.ofConfined()) {
            RsavqLinear layer = RsavqLayers.random(rnd, arena, "g", rows, cols, subLength, subspaces,
                    RsavqLayers.split(cols, 4), new int[] {6, 9, 12, 3}, scales, null);
            float[] w = layer.dequantizeInJava();
            float[] x = RsavqKernelTest.randomX(rnd, cols);
            MemorySegment xs = arena.allocateFrom(ValueLayout.JAVA_FLOAT, x);
            MemorySegment y = arena.allocate(4L * rows);
            layer.gemv(gpu, xs, y);
            RsavqKernelTest.assertMatchesFloat64(w, x, y.toArray(ValueLayout.JAVA_FLOAT), rows, cols, "gpu gemv");

            MemorySegment dst = arena.allocate(4L * rows * cols);
            layer.dequantizeRows(gpu, dst, 0, rows);
            assertArrayEquals(w, dst.toArray(ValueLayout.JAVA_FLOAT), "gpu dequantised rows");
            int row0 = Math.min(rows - 1, subLength + 1), nrows = Math.min(rows - row0, 2 * subLength + 1);
            MemorySegment part = arena.allocate(4L * nrows * cols);
            layer.dequantizeRows(gpu, part, row0, nrows);
            float[] want = new float[nrows * cols];
            System.arraycopy(w, row0 * cols, want, 0, want.length);
            assertArrayEquals(want, part.toArray(ValueLayout.JAVA_FLOAT), "gpu rows from " + row0);

            MemorySegment yc = arena.allocate(4L * rows);
            layer.gemv(cpu, xs, yc);
            float[] a = y.toArray(ValueLayout.JAVA_FLOAT), b = yc.toArray(ValueLayout.JAVA_FLOAT);
            for (int i = 0; i < rows; i++) {
                assertTrue(Math.abs(a[i] - b[i]) <= 1e-4 * (1 + Math.abs(b[i])), "row " + i + ": gpu " + a[i] + " cpu " + b[i]);
            }
        }
    }
}
