package dev.jvq.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.backend.Backend;
import dev.jvq.quant.CodebookScope;
import dev.jvq.quant.HasVqQuantizer;
import dev.jvq.quant.QuantMethod;
import dev.jvq.tensor.DType;
import dev.jvq.tensor.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code jvq bench quantize}: HAS-VQ on one random heavy-tailed matrix (Student-t weights), with the
 * k-means assignment kernel's GFLOP/s beside the machine's SGEMM rate measured in the same run.
 */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = {"Time HAS-VQ on one rows x cols matrix of Student-t weights (heavy tails, like trained"
                + " LLM weights), and measure the k-means assignment kernel and SGEMM in the same run.",
            "Assignment GFLOP/s counts 3·M·K·b flops per pass (difference, square, add per coordinate)."})
public final class BenchQuantizeCommand implements Callable<Integer> {
    @Option(names = "--rows", defaultValue = "2048", description = "Output rows (default: ${DEFAULT-VALUE}).")
    int rows;

    @Option(names = "--cols", defaultValue = "8192", description = "Input columns (default: ${DEFAULT-VALUE}).")
    int cols;

    @Option(names = "--method", defaultValue = "hasvq-mid", paramLabel = "METHOD",
            description = "A HAS-VQ method, e.g. hasvq-mid or hasvq-mid:iters=5 (default: ${DEFAULT-VALUE}).")
    String method;

    @Option(names = "--nu", defaultValue = "4", description = "Student-t degrees of freedom (default: ${DEFAULT-VALUE}).")
    int nu;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the weights.")
    long seed;

    @Option(names = "--json", description = "Print the result as one JSON object.")
    boolean json;

    @Option(names = "--synthetic", paramLabel = "SHAPE",
            description = "Instead of one matrix, quantise every block linear of a model with random bf16 weights"
                    + " in the shapes of smollm2-135m or smollm2-1.7b (no calibration: h = 1), reporting time and"
                    + " peak memory.")
    String synthetic;

    @Option(names = "--codebook-scope", defaultValue = "matrix", paramLabel = "matrix|kind|model",
            description = "Codebook scope for --synthetic (default: ${DEFAULT-VALUE}).")
    String scope;

    @Mixin
    BackendOptions backendOptions;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!(QuantMethod.parse(method) instanceof QuantMethod.HasVq hv)) {
            throw new JvqException("--method " + method + ": bench quantize times HAS-VQ methods");
        }
        if (rows < 1 || cols < 1 || nu < 1) {
            throw new JvqException("--rows, --cols and --nu must be positive");
        }
        if ((long) rows * cols < hv.params().block()) {
            throw new JvqException("--rows x --cols must hold at least one vector of " + hv.params().block());
        }
        var p = hv.params();
        if (synthetic != null) {
            return wholeModel(hv, out, err);
        }
        try (Arena arena = Arena.ofShared(); Backend backend = backendOptions.open()) {
            err.printf(Locale.ROOT, "bench quantize: %d x %d Student-t(%d) weights, %s on %s (%s)%n", rows, cols, nu,
                    hv.name(), backend.name(), backend.describe());
            err.flush();
            SplittableRandom rng = new SplittableRandom(seed);
            MemorySegment w = arena.allocate((long) rows * cols * 4, 64);
            for (long i = 0, n = (long) rows * cols; i < n; i++) {
                w.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (0.02 * studentT(rng, nu)));
            }
            float[] h = new float[cols];
            for (int j = 0; j < cols; j++) {
                double z = rng.nextGaussian();
                h[j] = (float) (z * z + 0.05);
            }
            Tensor weight = new Tensor("bench", DType.F32, new long[] {rows, cols}, w);

            long t0 = System.nanoTime();
            HasVqQuantizer.Result r = HasVqQuantizer.quantize(
                    List.of(new HasVqQuantizer.Input("bench", "bench", weight, h)), p, CodebookScope.MATRIX, backend,
                    arena, line -> {
                        err.println(line);
                        err.flush();
                    });
            double quantizeSeconds = (System.nanoTime() - t0) / 1e9;
            int k = r.layers().getFirst().codebook().k();

            // The assignment kernel alone: every vector of the matrix against the trained codebook.
            long whole = (long) rows * cols / p.block(); // vectors lying wholly inside the matrix
            long mTimed = Math.max(1, Math.min(whole, 1L << 18));
            MemorySegment vecs = w.asSlice(0, mTimed * p.block() * 4);
            MemorySegment cents = arena.allocate((long) k * p.block() * 4, 64);
            float[] cb = r.layers().getFirst().codebook().toFloats();
            MemorySegment.copy(cb, 0, cents, ValueLayout.JAVA_FLOAT, 0, cb.length);
            MemorySegment idx = arena.allocate(mTimed * 4, 64);
            double assignSeconds = best(3, () -> backend.kmeansAssign(vecs, mTimed, cents, k, p.block(), idx,
                    MemorySegment.NULL, MemorySegment.NULL, MemorySegment.NULL));
            double assignGflops = 3.0 * mTimed * k * p.block() / assignSeconds / 1e9;

            int n = 1024;
            MemorySegment a = random(arena, (long) n * n, rng);
            MemorySegment b = random(arena, (long) n * n, rng);
            MemorySegment c = arena.allocate((long) n * n * 4, 64);
            double sgemmSeconds = best(3, () -> backend.sgemm(a, b, c, n, n, n, false));
            double sgemmGflops = 2.0 * n * n * n / sgemmSeconds / 1e9;
            long peakRss = peakRssBytes();

            if (json) {
                ObjectMapper mapper = new ObjectMapper();
                ObjectNode o = mapper.createObjectNode();
                o.put("rows", rows);
                o.put("cols", cols);
                o.put("method", hv.name());
                o.put("k", k);
                o.put("quantize_seconds", quantizeSeconds);
                o.put("assign_gflops", assignGflops);
                o.put("sgemm_gflops", sgemmGflops);
                o.put("assign_to_sgemm", assignGflops / sgemmGflops);
                o.put("peak_rss_bytes", peakRss);
                o.put("backend", backend.name());
                out.println(mapper.writeValueAsString(o));
            } else {
                out.printf(Locale.ROOT, "%s on %d x %d: %.1f s; k-means assignment %.1f GFLOP/s (K=%d, b=%d),"
                        + " SGEMM %.1f GFLOP/s (1024^3), ratio %.2f; peak RSS %.0f MiB%n", hv.name(), rows, cols,
                        quantizeSeconds, assignGflops, k, p.block(), sgemmGflops, assignGflops / sgemmGflops,
                        peakRss / 1048576.0);
            }
            out.flush();
        }
        return 0;
    }

    /** Every block linear of a synthetic model, as {@code jvq quantize} would (without calibration). */
    private int wholeModel(QuantMethod.HasVq hv, PrintWriter out, PrintWriter err) throws IOException {
        dev.jvq.model.SyntheticShape shape = dev.jvq.model.SyntheticShape.byId(synthetic);
        CodebookScope sc = CodebookScope.parse(scope);
        try (Backend backend = backendOptions.open(); Arena arena = Arena.ofShared();
                dev.jvq.model.LlamaModel m = dev.jvq.model.LlamaModel.synthetic(shape.config, DType.BF16, seed)) {
            long rssModel = peakRssBytes();
            err.printf(Locale.ROOT, "bench quantize: %s (%d parameters, bf16, peak RSS so far %.0f MiB), %s scope %s"
                    + " on %s%n", shape.id, m.parameterCount(), rssModel / 1048576.0, hv.name(), sc.label(),
                    backend.describe());
            err.flush();
            long t0 = System.nanoTime();
            dev.jvq.pipeline.ModelQuantizer.quantize(m, hv, sc, null, backend, arena, line -> {
                err.println(line);
                err.flush();
            });
            double seconds = (System.nanoTime() - t0) / 1e9;
            long peak = peakRssBytes();
            if (json) {
                ObjectMapper mapper = new ObjectMapper();
                ObjectNode o = mapper.createObjectNode();
                o.put("synthetic", shape.id);
                o.put("parameters", m.parameterCount());
                o.put("method", hv.name());
                o.put("codebook_scope", sc.label());
                o.put("quantize_seconds", seconds);
                o.put("peak_rss_bytes", peak);
                out.println(mapper.writeValueAsString(o));
            } else {
                out.printf(Locale.ROOT, "%s of %s: %.1f s; peak RSS %.2f GiB (model %.2f GiB before quantising)%n",
                        hv.name(), shape.id, seconds, peak / 1073741824.0, rssModel / 1073741824.0);
            }
            out.flush();
        }
        return 0;
    }

    private static double studentT(SplittableRandom rng, int nu) {
        double chi2 = 0;
        for (int i = 0; i < nu; i++) {
            double g = rng.nextGaussian();
            chi2 += g * g;
        }
        return rng.nextGaussian() / Math.sqrt(chi2 / nu);
    }

    private static MemorySegment random(Arena arena, long n, SplittableRandom rng) {
        MemorySegment s = arena.allocate(n * 4, 64);
        for (long i = 0; i < n; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rng.nextGaussian());
        }
        return s;
    }

    /** Best wall time of {@code reps} runs after one warm-up. */
    private static double best(int reps, Runnable r) {
        r.run();
        double best = Double.MAX_VALUE;
        for (int i = 0; i < reps; i++) {
            long t = System.nanoTime();
            r.run();
            best = Math.min(best, (System.nanoTime() - t) / 1e9);
        }
        return best;
    }

    /** VmHWM of this process (Linux), or -1. */
    static long peakRssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux: unknown
        }
        return -1;
    }
}
