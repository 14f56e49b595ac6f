package dev.jvq.bench;

import dev.jvq.backend.CpuBackend;
import dev.jvq.quant.CodebookScope;
import dev.jvq.quant.HasVqParams;
import dev.jvq.quant.HasVqQuantizer;
import dev.jvq.quant.QuantMethod;
import dev.jvq.rsavq.RsavqQuantizer;
import dev.jvq.quant.Rtn;
import dev.jvq.runtime.DenseLinear;
import dev.jvq.runtime.Linear;
import dev.jvq.tensor.DType;
import dev.jvq.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
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
 * GEMV y = W x of one layer-sized matrix in each storage format, through the same {@link Linear}
 * call the transformer makes: the fused kernels for the quantised formats (jvq_vq_gemv for HAS-VQ,
 * jvq_rtn_gemv for RTN) and the dense kernels for the bf16 and f32 baselines, at the shapes of the
 * issue's targets (4096 x 4096; 8192 x 2048, an MLP up/gate of a 2048-wide model).
 *
 * <p>W is Student-t (ν = 4, scale 0.02), the matrix {@code jvq bench gemv} uses. HAS-VQ is quantised
 * with uniform importance and {@link #kmeansIters} k-means passes instead of the preset's 15, the
 * shortcut {@code jvq bench gemv} takes: the codes' layout (bits per index, codebook size, sparse
 * count) and so the kernel's work do not depend on how well k-means converged.
 *
 * <p>Scores: calls per second; the auxiliary {@code weightGB} counter, reported per second, is the
 * GB/s of weight storage read (codes, codebook, scales, sparse residuals; x is ignored). Speedups are
 * ratios of the calls/s of two formats at the same shape.
 *
 * <p>Run (short): {@code java --enable-native-access=ALL-UNNAMED -cp target/jvq.jar org.openjdk.jmh.Main
 * QuantGemvBench -f1 -wi 1 -w 1 -i 3 -r 1}; one shape: {@code -p shape=4096x4096}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@State(Scope.Benchmark)
public class QuantGemvBench {

    @Param({"hasvq-mid", "hasvq-high", "rtn4-row", "rtn4-g128", "dense-bf16", "dense-f32"})
    public String format;

    /** rows x cols of W. */
    @Param({"4096x4096", "8192x2048"})
    public String shape;

    /** Kernel threads; 0 = the OpenMP default (all cores). */
    @Param({"0"})
    public int threads;

    /** k-means passes of the HAS-VQ quantiser in the setup. */
    @Param({"2"})
    public int kmeansIters;

    private Arena arena;
    private CpuBackend cpu;
    private Linear layer;
    private MemorySegment x, y;
    private double gbPerCall;

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
        String[] rc = shape.split("x");
        long rows = Long.parseLong(rc[0]);
        long cols = Long.parseLong(rc[1]);
        cpu = new CpuBackend();
        cpu.setThreads(threads);
        arena = Arena.ofShared();
        MemorySegment w = studentT(rows, cols, 1);
        layer = switch (format) {
            case "dense-f32" -> new DenseLinear(new Tensor("w", DType.F32, new long[] {rows, cols}, w));
            case "dense-bf16" -> new DenseLinear(new Tensor("w", DType.BF16, new long[] {rows, cols}, bf16(w)));
            default -> quantise(new Tensor("w", DType.F32, new long[] {rows, cols}, w));
        };
        gbPerCall = layer.storageBytes() / 1e9;
        x = arena.allocate(cols * 4, 64);
        y = arena.allocate(rows * 4, 64);
        SplittableRandom r = new SplittableRandom(2);
        for (long j = 0; j < cols; j++) {
            x.setAtIndex(ValueLayout.JAVA_FLOAT, j, (float) (2 * r.nextDouble() - 1));
        }
    }

    private Linear quantise(Tensor w) {
        QuantMethod m = QuantMethod.parse(format);
        return switch (m) {
            case QuantMethod.Rtn rtn -> Rtn.quantize("w", w, rtn.params(), arena);
            case QuantMethod.HasVq hv -> {
                HasVqParams p = hv.params();
                HasVqParams quick = new HasVqParams(p.block(), p.centroids(), p.sparsity(), p.stability(), kmeansIters,
                        p.seed());
                yield HasVqQuantizer.quantize(List.of(new HasVqQuantizer.Input("w", "q", w, null)), quick,
                        CodebookScope.MATRIX, cpu, arena, s -> { }).layers().get(0);
            }
            case QuantMethod.Rsavq rq -> RsavqQuantizer.quantize(List.of(new RsavqQuantizer.Input("w", "q", w, null)),
                    rq.params().withoutFisher(kmeansIters), CodebookScope.MATRIX, cpu, arena, s -> { }).layers().get(0);
        };
    }

    /** Student-t with ν = 4 (z / sqrt(χ²₄ / 4)) scaled by 0.02, as f32 in the arena. */
    private MemorySegment studentT(long rows, long cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long n = rows * cols;
        MemorySegment w = arena.allocate(n * 4, 64);
        for (long i = 0; i < n; i++) {
            double chi2 = 0;
            for (int d = 0; d < 4; d++) {
                double g = gaussian(r);
                chi2 += g * g;
            }
            w.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (0.02 * gaussian(r) / Math.sqrt(chi2 / 4)));
        }
        return w;
    }

    private static double gaussian(SplittableRandom r) {
        double u = r.nextDouble(), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }

    /** bfloat16 copy by round to nearest even (the weights are finite). */
    private MemorySegment bf16(MemorySegment f32) {
        long n = f32.byteSize() / 4;
        MemorySegment out = arena.allocate(n * 2, 64);
        for (long i = 0; i < n; i++) {
            int bits = Float.floatToRawIntBits(f32.getAtIndex(ValueLayout.JAVA_FLOAT, i));
            bits += 0x7fff + ((bits >>> 16) & 1);
            out.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) (bits >>> 16));
        }
        return out;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        cpu.setThreads(0);
        arena.close();
        cpu.close();
    }

    @Benchmark
    public void gemv(Traffic traffic) {
        layer.gemv(cpu, x, y);
        traffic.weightGB += gbPerCall;
    }
}
