package dev.jvq.bench;

import dev.jvq.backend.CpuBackend;
import dev.jvq.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Dense GEMV y = W x on the CPU backend (native, all cores) for f32, f16 and bf16 weights of
 * {@code rows x cols} (4096 x 4096 by default: 64 MiB of f32, far beyond the caches, so every call
 * streams W from memory).
 *
 * <p>Bandwidth: the auxiliary counter {@code weightGB} adds the weight bytes of each call / 1e9, and
 * JMH reports it per second, so its score ({@code weightGB  ops/s}) is directly the GB/s of weight
 * traffic (x and y are 16 KiB each and ignored). The primary score is GEMV calls per second; GB/s =
 * calls/s x rows x cols x bytes per weight / 1e9 gives the same figure.
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp target/jvq.jar org.openjdk.jmh.Main
 * GemvBench -f1 -wi 2 -i 3}
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@State(Scope.Benchmark)
public class GemvBench {

    @Param({"F32", "F16", "BF16"})
    public DType dtype;

    @Param({"4096"})
    public long rows;

    @Param({"4096"})
    public long cols;

    /** Kernel threads; 0 = the OpenMP default (all cores). Try {@code -p threads=1} on a busy machine. */
    @Param({"0"})
    public int threads;

    private Arena arena;
    private CpuBackend cpu;
    private MemorySegment w, x, y;

    /** Weight bytes moved, in GB, reported by JMH as a rate (GB/s). */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Traffic {
        public double weightGB;

        @Setup(Level.Iteration)
        public void reset() {
            weightGB = 0;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        cpu = new CpuBackend();
        cpu.setThreads(threads);
        arena = Arena.ofShared();
        long n = rows * cols;
        w = arena.allocate(n * dtype.bytes, 64);
        x = arena.allocate(cols * 4, 64);
        y = arena.allocate(rows * 4, 64);
        SplittableRandom rnd = new SplittableRandom(42);
        // Random weights in [-1, 1): the kernel's speed must not depend on special values.
        for (long i = 0; i < n; i++) {
            float v = (float) (rnd.nextDouble() * 2 - 1);
            switch (dtype) {
                case F32 -> w.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
                case F16 -> w.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16(v));
                case BF16 -> w.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) (Float.floatToRawIntBits(v) >>> 16));
                default -> throw new IllegalArgumentException("GEMV weights are F32, F16 or BF16, not " + dtype);
            }
        }
        for (long j = 0; j < cols; j++) {
            x.setAtIndex(ValueLayout.JAVA_FLOAT, j, (float) (rnd.nextDouble() * 2 - 1));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        cpu.setThreads(0);
        arena.close();
        cpu.close();
    }

    @Benchmark
    public void gemv(Traffic traffic) {
        cpu.gemv(dtype, w, x, y, rows, cols);
        traffic.weightGB += rows * cols * dtype.bytes / 1e9;
    }
}
