package dev.jvq.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.backend.Backend;
import dev.jvq.backend.CpuBackend;
import dev.jvq.quant.HasVqParams;
import dev.jvq.quant.HasVqQuantizer;
import dev.jvq.quant.QuantMethod;
import dev.jvq.rsavq.RsavqParams;
import dev.jvq.rsavq.RsavqQuantizer;
import dev.jvq.quant.QuantizedLayer;
import dev.jvq.quant.Rtn;
import dev.jvq.quant.RtnLinear;
import dev.jvq.quant.RsavqLinear;
import dev.jvq.quant.VqLinear;
import dev.jvq.tensor.DType;
import dev.jvq.tensor.Tensor;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code jvq bench gemv}: one matrix-vector product y = W x of a random heavy-tailed matrix (Student-t,
 * ν = 4, the shape of LLM weight distributions) stored dense or quantised, timed against dense f32
 * and bf16 of the same shape in the same run. Bytes per call count what the kernel must read (codes,
 * codebook, scales, minima, sparse residuals, x); the machine's read bandwidth is estimated in the
 * same run by a dense f32 GEMV of a 64 MiB matrix (larger than any cache here), so "fraction" says how
 * close a method gets to streaming its bytes at memory speed.
 */
@Command(name = "gemv", mixinStandardHelpOptions = true,
        description = "Time one GEMV of a random Student-t matrix, dense or quantised, against dense f32/bf16.")
public final class BenchGemvCommand implements Callable<Integer> {

    static final String METHODS = "dense-f32, dense-bf16, dense-f16, rtn4-row, rtnN-gG[-asym], hasvq-mid, hasvq-high,"
            + " rsavq-B (B = 2, 3, 4; EDSG and WCSG off: no calibration)";

    /** Rows and columns of the bandwidth-proxy matrix: 4096 x 4096 f32 = 64 MiB. */
    static final int PROXY_DIM = 4096;

    @Option(names = "--rows", required = true, paramLabel = "R", description = "Rows of W (outputs).")
    int rows;

    @Option(names = "--cols", required = true, paramLabel = "C", description = "Columns of W (inputs).")
    int cols;

    @Option(names = "--method", required = true, paramLabel = "M", description = "One of: " + METHODS + ".")
    String method;

    @Option(names = "--seconds", defaultValue = "2", paramLabel = "S",
            description = "Timed seconds per measured kernel (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--kmeans-iters", defaultValue = "2", paramLabel = "I",
            description = "k-means passes of the HAS-VQ / RSAVQ quantiser (default: ${DEFAULT-VALUE}, fewer than the preset's"
                    + " 15 to keep the benchmark quick; the codes' layout and so the GEMV speed do not depend on it).")
    int kmeansIters;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the matrix and x.")
    long seed;

    @Option(names = "--json", description = "Print the result as one JSON object.")
    boolean json;

    @Mixin
    BackendOptions backendOptions;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** One way of multiplying by W: the call, and the bytes it reads. */
    record Kernel(String name, Runnable call, long bytesRead, double bitsPerWeight) {}

    /** Median seconds per call over {@code seconds} of repeated calls, after a warm-up; and the count. */
    record Timing(double medianSeconds, int calls) {}

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (rows < 1 || cols < 1 || (long) rows * cols > Integer.MAX_VALUE) {
            throw new JvqException("--rows/--cols: need 1 <= rows, cols and rows*cols <= 2^31-1, got " + rows + " x " + cols);
        }
        if (!(seconds > 0) || seconds > 3600) {
            throw new JvqException("--seconds " + seconds + ": must be in (0, 3600]");
        }
        if (kmeansIters < 1) {
            throw new JvqException("--kmeans-iters " + kmeansIters + ": must be >= 1");
        }
        String m = method.trim().toLowerCase(Locale.ROOT);
        DType denseType = switch (m) {
            case "dense-f32" -> DType.F32;
            case "dense-bf16" -> DType.BF16;
            case "dense-f16" -> DType.F16;
            default -> null;
        };
        QuantMethod qm = denseType == null ? parseQuant(method) : null;
        try (Arena arena = Arena.ofShared(); Backend b = backendOptions.open(err)) {
            float[] w = studentT(rows, cols, seed);
            MemorySegment x = arena.allocate(cols * 4L, 64);
            SplittableRandom rx = new SplittableRandom(seed + 1);
            for (int j = 0; j < cols; j++) {
                x.setAtIndex(ValueLayout.JAVA_FLOAT, j, (float) (2 * rx.nextDouble() - 1));
            }
            MemorySegment yRef = arena.allocate(rows * 4L, 64);
            MemorySegment y = arena.allocate(rows * 4L, 64);
            Kernel f32 = dense(b, DType.F32, w, x, yRef, arena);
            Kernel bf16 = dense(b, DType.BF16, w, x, y, arena);
            String quantiser = null;
            Kernel k;
            long t0 = System.nanoTime();
            if (denseType == DType.F32) {
                k = f32;
            } else if (denseType == DType.BF16) {
                k = bf16;
            } else if (denseType != null) {
                k = dense(b, denseType, w, x, y, arena);
            } else {
                Tensor t = new Tensor("w", DType.F32, new long[] {rows, cols}, f32Segment(w, arena));
                QuantizedLayer q;
                if (qm instanceof QuantMethod.Rtn r) {
                    q = Rtn.quantize("w", t, r.params(), arena);
                    quantiser = "Rtn " + r.params().methodName();
                } else if (qm instanceof QuantMethod.Rsavq rq) {
                    RsavqParams p = rq.params().withoutFisher(kmeansIters);
                    q = RsavqQuantizer.quantize(List.of(new RsavqQuantizer.Input("w", "q", t, null)), p,
                            dev.jvq.quant.CodebookScope.MATRIX, b, arena, s -> { }).layers().get(0);
                    quantiser = "RsavqQuantizer " + p.bits() + " bits, v=" + p.vectorLength() + " (" + p.subspaces()
                            + " sub-vectors), " + p.groups() + " groups at the target width (no calibration: EDSG"
                            + " and WCSG off), k-means iters=" + kmeansIters;
                } else {
                    HasVqParams p0 = ((QuantMethod.HasVq) qm).params();
                    HasVqParams p = new HasVqParams(p0.block(), p0.centroids(), p0.sparsity(), p0.stability(),
                            kmeansIters, p0.seed());
                    HasVqQuantizer.Result r = HasVqQuantizer.quantize(
                            List.of(new HasVqQuantizer.Input("w", "q", t, null)), p,
                            dev.jvq.quant.CodebookScope.MATRIX, b, arena, s -> { });
                    q = r.layers().get(0);
                    quantiser = "HasVqQuantizer b=" + p.block() + " K=" + p.centroids() + " rho=" + p.sparsity()
                            + " k-means iters=" + kmeansIters + " (preset " + p0.iters() + "), uniform Hessian";
                }
                k = new Kernel(qm.name(), () -> q.gemv(b, x, y), bytesRead(q) + cols * 4L,
                        8.0 * bytesRead(q) / ((double) rows * cols));
            }
            double quantSeconds = (System.nanoTime() - t0) / 1e9;
            if (quantiser != null) {
                err.printf(Locale.ROOT, "bench gemv: quantised %d x %d with %s in %.1f s%n", rows, cols, quantiser,
                        quantSeconds);
                err.flush();
            }

            // The bandwidth proxy: dense f32 GEMV of a matrix larger than the caches.
            long proxyElems = (long) PROXY_DIM * PROXY_DIM;
            MemorySegment pw = arena.allocate(proxyElems * 4, 64);
            pw.fill((byte) 0x3c); // every float 0.0115: finite, normal, not zero
            MemorySegment px = arena.allocate(PROXY_DIM * 4L, 64);
            px.fill((byte) 0x3c);
            MemorySegment py = arena.allocate(PROXY_DIM * 4L, 64);
            Timing proxy = time(() -> b.gemv(DType.F32, pw, px, py, PROXY_DIM, PROXY_DIM));
            double bandwidth = (proxyElems * 4 + PROXY_DIM * 4L) / proxy.medianSeconds() / 1e9;

            Timing tf32 = time(f32.call());
            Timing tbf16 = time(bf16.call());
            Timing tk = k == f32 ? tf32 : k == bf16 ? tbf16 : time(k.call());
            k.call().run();
            double relErr = relativeError(y, yRef, k == f32);
            double gbps = k.bytesRead() / tk.medianSeconds() / 1e9;

            if (json) {
                ObjectMapper mapper = new ObjectMapper();
                ObjectNode o = mapper.createObjectNode();
                o.put("rows", rows);
                o.put("cols", cols);
                o.put("method", k.name());
                o.put("backend", b.name());
                o.put("device", b.describe());
                o.put("threads", b instanceof CpuBackend c ? c.threads() : 0);
                o.put("matrix", "Student-t nu=4, seed " + seed);
                if (quantiser != null) {
                    o.put("quantiser", quantiser);
                    o.put("quantise_seconds", quantSeconds);
                }
                o.put("bits_per_weight", k.bitsPerWeight());
                o.put("bytes_read", k.bytesRead());
                o.put("calls", tk.calls());
                o.put("median_seconds", tk.medianSeconds());
                o.put("gb_per_second", gbps);
                o.put("bandwidth_proxy", "dense f32 gemv " + PROXY_DIM + "x" + PROXY_DIM + " (64 MiB), same run");
                o.put("bandwidth_gb_per_second", bandwidth);
                o.put("fraction_of_bandwidth", gbps / bandwidth);
                o.put("dense_f32_median_seconds", tf32.medianSeconds());
                o.put("dense_bf16_median_seconds", tbf16.medianSeconds());
                o.put("speedup_vs_dense_f32", tf32.medianSeconds() / tk.medianSeconds());
                o.put("speedup_vs_dense_bf16", tbf16.medianSeconds() / tk.medianSeconds());
                o.put("relative_error_vs_f32", relErr);
                out.println(mapper.writeValueAsString(o));
            } else {
                out.printf(Locale.ROOT, "%s %d x %d on %s: median %.1f us over %d calls, %.3f bits/weight, %d bytes"
                        + " read, %.2f GB/s = %.0f%% of read bandwidth %.2f GB/s (dense f32 gemv of 64 MiB)%n",
                        k.name(), rows, cols, b.name(), tk.medianSeconds() * 1e6, tk.calls(), k.bitsPerWeight(),
                        k.bytesRead(), gbps, 100 * gbps / bandwidth, bandwidth);
                out.printf(Locale.ROOT, "  speedup %.2fx over dense bf16 (%.1f us), %.2fx over dense f32 (%.1f us);"
                        + " relative error vs f32 %.2e%n", tbf16.medianSeconds() / tk.medianSeconds(),
                        tbf16.medianSeconds() * 1e6, tf32.medianSeconds() / tk.medianSeconds(),
                        tf32.medianSeconds() * 1e6, relErr);
                if (quantiser != null) {
                    out.printf(Locale.ROOT, "  quantiser: %s%n", quantiser);
                }
                // Which kernel build ran (AVX-512 or AVX2 paths, compiler): ratios differ between them.
                out.printf(Locale.ROOT, "  device: %s%n", b.describe());
            }
            out.flush();
        }
        return 0;
    }

    private static QuantMethod parseQuant(String text) {
        try {
            return QuantMethod.parse(text);
        } catch (JvqException e) {
            throw new JvqException("--method " + text + ": expected one of " + METHODS);
        }
    }

    /** Bytes one GEMV of a quantised layer reads, besides x. */
    static long bytesRead(QuantizedLayer q) {
        return switch (q) {
            case RtnLinear r -> r.storageBytes();
            // codes, every group's codebook, the int32 permutation and the row scales, as held in memory
            case RsavqLinear r -> r.storageBytes();
            case VqLinear v -> v.codeBytes() + v.codebook().data().byteSize() + v.rowScales().byteSize() + v.nnz() * 6;
        };
    }

    /** A dense GEMV of W stored as {@code t}. */
    private Kernel dense(Backend b, DType t, float[] w, MemorySegment x, MemorySegment y, Arena arena) {
        MemorySegment seg;
        if (t == DType.F32) {
            seg = f32Segment(w, arena);
        } else {
            seg = arena.allocate((long) w.length * 2, 64);
            for (int i = 0; i < w.length; i++) {
                short h = t == DType.F16 ? Float.floatToFloat16(w[i]) : bf16(w[i]);
                seg.setAtIndex(ValueLayout.JAVA_SHORT, i, h);
            }
        }
        long bytes = (long) w.length * t.bytes + cols * 4L;
        return new Kernel("dense-" + t.name().toLowerCase(Locale.ROOT), () -> b.gemv(t, seg, x, y, rows, cols), bytes,
                8.0 * t.bytes);
    }

    private static MemorySegment f32Segment(float[] w, Arena arena) {
        MemorySegment seg = arena.allocate((long) w.length * 4, 64);
        MemorySegment.copy(w, 0, seg, ValueLayout.JAVA_FLOAT, 0, w.length);
        return seg;
    }

    /** bfloat16 by round to nearest even (the weights are finite). */
    static short bf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        bits += 0x7fff + ((bits >>> 16) & 1);
        return (short) (bits >>> 16);
    }

    /** Student-t with ν = 4 (z / sqrt(χ²₄ / 4)), scaled to a typical weight size 0.02. */
    static float[] studentT(int rows, int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            double chi2 = 0;
            for (int d = 0; d < 4; d++) {
                double g = gaussian(r);
                chi2 += g * g;
            }
            w[i] = (float) (0.02 * gaussian(r) / Math.sqrt(chi2 / 4));
        }
        return w;
    }

    private static double gaussian(SplittableRandom r) {
        double u = r.nextDouble(), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }

    /** Warm-up (a tenth of the budget, at least one call), then calls for {@code seconds}; median. */
    private Timing time(Runnable call) {
        long budget = (long) (seconds * 1e9);
        long start = System.nanoTime();
        do {
            call.run();
        } while (System.nanoTime() - start < budget / 10);
        List<Long> times = new ArrayList<>();
        start = System.nanoTime();
        do {
            long a = System.nanoTime();
            call.run();
            times.add(System.nanoTime() - a);
        } while (System.nanoTime() - start < budget);
        long[] t = times.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(t);
        double median = t.length % 2 == 1 ? t[t.length / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2.0;
        return new Timing(median / 1e9, t.length);
    }

    /** ||y - yRef|| / ||yRef||, 0 when y is the f32 output itself. */
    private double relativeError(MemorySegment y, MemorySegment yRef, boolean same) {
        if (same) {
            return 0;
        }
        double num = 0, den = 0;
        for (int i = 0; i < rows; i++) {
            double a = y.getAtIndex(ValueLayout.JAVA_FLOAT, i), r = yRef.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            num += (a - r) * (a - r);
            den += r * r;
        }
        return den == 0 ? 0 : Math.sqrt(num / den);
    }
}
