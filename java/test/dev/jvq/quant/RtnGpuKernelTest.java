package dev.jvq.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.backend.GpuTwinTest;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The CUDA RTN kernels (cuda/rtn.cu) against their CPU twins; skipped without a usable GPU. */
@EnabledIf("dev.jvq.backend.GpuTwinTest#gpuPresent")
class RtnGpuKernelTest extends GpuTwinTest {

    @ParameterizedTest
    @CsvSource({"13, 131, 4, 0, true", "13, 131, 4, 32, false", "67, 257, 3, 7, true", "5, 37, 8, 32, false",
            "301, 1000, 2, 0, false", "9, 1, 5, 0, true", "40, 389, 6, 64, true"})
    void gemvAndDequantMatchTheCpu(int rows, int cols, int bits, int group, boolean symmetric) {
        try (Arena arena = Arena.ofConfined()) {
            RtnParams p = new RtnParams(bits, group, symmetric);
            RtnLinear q = RtnKernelTest.layer(rows, cols, p, rows * 7L + cols, arena).q();
            MemorySegment x = RtnKernelTest.randomX(cols, cols, arena);
            MemorySegment yg = arena.allocate(rows * 4L), yc = arena.allocate(rows * 4L);
            q.gemv(gpu, x, yg);
            q.gemv(cpu, x, yc);
            double scale = 0, worst = 0;
            for (int i = 0; i < rows; i++) {
                float c = yc.getAtIndex(LittleEndian.F32, i);
                scale = Math.max(scale, Math.abs(c));
                worst = Math.max(worst, Math.abs(c - yg.getAtIndex(LittleEndian.F32, i)));
            }
            assertTrue(scale > 0 && worst <= 1e-5 * scale, p.methodName() + ": gpu vs cpu max error " + worst);
            int row0 = rows / 3, nrows = rows - row0;
            MemorySegment dg = arena.allocate((long) nrows * cols * 4), dc = arena.allocate((long) nrows * cols * 4);
            q.dequantizeRows(gpu, dg, row0, nrows);
            q.dequantizeRows(cpu, dc, row0, nrows);
            // Same rounding as the CPU twin (product, then sum): bit-identical.
            assertEquals(-1, dg.mismatch(dc), p.methodName() + ": dequantised rows differ");
        }
    }
}
