package dev.jvq.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.backend.Backend;
import dev.jvq.calib.CalibrationSet;
import dev.jvq.model.LinearKind;
import dev.jvq.model.LlamaConfig;
import dev.jvq.model.LlamaModel;
import dev.jvq.model.ModelFiles;
import dev.jvq.model.Tokenizer;
import dev.jvq.rsavq.SensitivityReport;
import dev.jvq.runtime.DenseLinear;
import dev.jvq.train.Backward;
import dev.jvq.train.FisherStatistics;
import dev.jvq.train.LinearGradients;
import dev.jvq.train.Precision;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code jvq bench fisher}: the cost of RSAVQ calibration. Says how much memory the Fisher
 * statistics will take before starting, then times, per sequence, the backward pass and the
 * accumulation of Ḡ, F_I and F_O separately, and reports the peak resident memory of the process.
 */
@Command(name = "fisher", mixinStandardHelpOptions = true,
        description = "Cost of RSAVQ calibration: seconds per sequence (backward, Fisher accumulation) and peak memory.")
final class BenchFisherCommand implements Callable<Integer> {
    private static final double GIB = 1024.0 * 1024 * 1024;

    @Mixin
    BenchCommand.Common common;

    @Option(names = "--sequences", defaultValue = "3", paramLabel = "N",
            description = "Calibration sequences to time (default: ${DEFAULT-VALUE}); the first one also warms up.")
    int sequences;

    @Option(names = "--seq-len", defaultValue = "256", paramLabel = "L", description = "Tokens per sequence (default: ${DEFAULT-VALUE}).")
    int seqLen;

    @Option(names = "--text", paramLabel = "FILE",
            description = "Cut the sequences from this text as BOS windows (needs --model); default: random token ids.")
    Path text;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "Tokenizer of --text (default: beside the model).")
    Path tokenizer;

    @Option(names = "--precision", defaultValue = "f32", paramLabel = "f32|f64",
            description = "Matrix products of the backward pass (default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--sensitivity-report", description = "After collecting, print per block linear how far the"
            + " mean gradient stands above its sampling noise, the spread of the paper's WCSG log2 I_c, and the rank"
            + " correlation of the paper's and the diagonal-Fisher sensitivities (RSAVQ.md, WCSG).")
    boolean sensitivityReport;

    @Option(names = "--layers", paramLabel = "FROM:TO",
            description = "Collect the statistics of layers [FROM, TO) only (default: all).")
    String layers;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (sequences < 1 || seqLen < 2) {
            throw new JvqException("--sequences must be >= 1 and --seq-len >= 2");
        }
        Precision p = switch (precision.toLowerCase(Locale.ROOT)) {
            case "f32" -> Precision.F32;
            case "f64" -> Precision.F64;
            default -> throw new JvqException("--precision " + precision + ": choose f32 or f64");
        };
        if (text != null && common.choice.model == null) {
            throw new JvqException("--text needs --model (a synthetic model has no tokenizer)");
        }
        try (LlamaModel m = common.open(err)) {
            LlamaConfig c = m.config();
            if (seqLen > c.maxSeqLen()) {
                throw new JvqException("--seq-len " + seqLen + " exceeds the context of " + common.modelName() + " ("
                        + c.maxSeqLen() + ")");
            }
            int[] range = layerRange(c);
            List<int[]> seqs = sequences(m);
            long stats = FisherStatistics.bytesNeeded(c, range[0], range[1]);
            long grads = FisherStatistics.gradientBytes(c);
            long weights = 8 * m.parameterCount();
            long heap = Runtime.getRuntime().maxMemory();
            err.printf(Locale.ROOT, "bench: Fisher statistics of layers [%d, %d) need %.2f GiB (float64 Ḡ, F_I, F_O);"
                    + " one sequence's gradients %.2f GiB; float64 weight copy %.2f GiB; JVM heap limit %.2f GiB%n",
                    range[0], range[1], stats / GIB, grads / GIB, weights / GIB, heap / GIB);
            err.flush();
            if (stats + grads + weights > heap) {
                throw new JvqException("Fisher calibration of " + common.modelName() + " needs about "
                        + String.format(Locale.ROOT, "%.1f", (stats + grads + weights) / GIB) + " GiB but the JVM heap is "
                        + String.format(Locale.ROOT, "%.1f", heap / GIB)
                        + " GiB: collect fewer layers at a time (--layers) or raise -Xmx (JVQ_JAVA_OPTS)");
            }
            try (Backend b = common.backendOptions.open(err)) {
                FisherStatistics f = new FisherStatistics(c, FisherStatistics.DEFAULT_DAMPING, range[0], range[1]);
                Backward backward = new Backward(m, b, p);
                double[] back = new double[seqs.size()];
                double[] acc = new double[seqs.size()];
                double[] backCpu = new double[seqs.size()];
                double[] accCpu = new double[seqs.size()];
                for (int i = 0; i < seqs.size(); i++) {
                    long c0 = processCpuNanos();
                    long t0 = System.nanoTime();
                    LinearGradients g = backward.compute(seqs.get(i));
                    long c1 = processCpuNanos();
                    long t1 = System.nanoTime();
                    f.add(g);
                    long c2 = processCpuNanos();
                    long t2 = System.nanoTime();
                    back[i] = (t1 - t0) / 1e9;
                    acc[i] = (t2 - t1) / 1e9;
                    backCpu[i] = (c1 - c0) / 1e9;
                    accCpu[i] = (c2 - c1) / 1e9;
                    err.printf(Locale.ROOT, "bench: sequence %d: loss %.4f, backward %.2f s (%.2f CPU-s), accumulation"
                            + " %.2f s (%.2f CPU-s)%n", i + 1, g.loss(), back[i], backCpu[i], acc[i], accCpu[i]);
                    err.flush();
                }
                if (sensitivityReport) {
                    printSensitivities(err, m, f, range, seqs.size());
                }
                long peak = peakRssBytes();
                double backMean = steadyMean(back);
                double accMean = steadyMean(acc);
                if (common.json) {
                    ObjectMapper mapper = new ObjectMapper();
                    ObjectNode o = common.header(mapper, m, b);
                    o.put("precision", p.name().toLowerCase(Locale.ROOT));
                    o.put("sequences", seqs.size());
                    o.put("seq_len", seqLen);
                    o.put("tokens", text != null ? "text " + text : "random");
                    o.put("layer_from", range[0]);
                    o.put("layer_to", range[1]);
                    o.put("statistics_bytes", stats);
                    o.put("gradient_bytes", grads);
                    o.put("backward_seconds_per_sequence", backMean);
                    o.put("accumulation_seconds_per_sequence", accMean);
                    o.put("backward_cpu_seconds_per_sequence", steadyMean(backCpu));
                    o.put("accumulation_cpu_seconds_per_sequence", steadyMean(accCpu));
                    o.put("first_sequence_seconds", back[0] + acc[0]);
                    o.put("peak_rss_bytes", peak);
                    out.println(mapper.writeValueAsString(o));
                } else {
                    out.printf(Locale.ROOT, "%s on %s (%s, %d x %d tokens, layers [%d, %d)): backward %.2f s/sequence"
                            + " (%.2f CPU-s), Fisher accumulation %.2f s/sequence (%.2f CPU-s)%s; statistics %.2f GiB;"
                            + " peak RSS %.2f GiB%n", common.modelName(), b.name(), p.name().toLowerCase(Locale.ROOT),
                            seqs.size(), seqLen, range[0], range[1], backMean, steadyMean(backCpu), accMean,
                            steadyMean(accCpu), seqs.size() > 1 ? " (after the first)" : "", stats / GIB, peak / GIB);
                }
                out.flush();
            }
        }
        return 0;
    }

    private static void printSensitivities(PrintWriter err, LlamaModel m, FisherStatistics f, int[] range, int n) {
        err.println("layer    kind  S|G|^2/tr(F_I)  paper log2 I: min    med    max  fisher log2 I: med    max"
                + "  spearman");
        for (int l = range[0]; l < range[1]; l++) {
            for (LinearKind k : LinearKind.values()) {
                if (!(m.linear(l, k) instanceof DenseLinear d)) {
                    continue;
                }
                SensitivityReport r = SensitivityReport.of(d.weight(), f.meanGradient(l, k), f.outputFactor(l, k),
                        f.inputFactor(l, k), n);
                err.printf(Locale.ROOT, "%5d  %5s  %14.2f  %17.3f %6.3f %6.3f  %18.3f %6.3f  %8.2f%n", l,
                        k.name().toLowerCase(Locale.ROOT), r.signalToNoise(), r.paperLog2()[0], r.paperLog2()[1],
                        r.paperLog2()[2], r.fisherLog2()[1], r.fisherLog2()[2], r.spearman());
            }
        }
        err.flush();
    }

    private int[] layerRange(LlamaConfig c) {
        if (layers == null) {
            return new int[] {0, c.nLayers()};
        }
        String[] parts = layers.split(":", -1);
        try {
            if (parts.length == 2) {
                int from = Integer.parseInt(parts[0].strip());
                int to = Integer.parseInt(parts[1].strip());
                if (from >= 0 && from < to && to <= c.nLayers()) {
                    return new int[] {from, to};
                }
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new JvqException("--layers " + layers + ": expected FROM:TO with 0 <= FROM < TO <= " + c.nLayers());
    }

    private List<int[]> sequences(LlamaModel m) {
        if (text == null) {
            List<int[]> seqs = new ArrayList<>();
            int[] all = common.randomTokens(sequences * seqLen, m.config().vocabSize());
            for (int i = 0; i < sequences; i++) {
                int[] s = new int[seqLen];
                System.arraycopy(all, i * seqLen, s, 0, seqLen);
                seqs.add(s);
            }
            return seqs;
        }
        Tokenizer tok = ModelFiles.openTokenizerFor(tokenizer, common.choice.model, m);
        return CalibrationSet.bosWindows(text, tok, sequences, seqLen).sequences();
    }

    /** Mean over the sequences after the first (which includes JIT warm-up), or the one time there is. */
    private static double steadyMean(double[] t) {
        if (t.length == 1) {
            return t[0];
        }
        double s = 0;
        for (int i = 1; i < t.length; i++) {
            s += t[i];
        }
        return s / (t.length - 1);
    }

    /**
     * CPU time of the whole process (all threads, GC included): on a shared machine wall time also
     * counts the waits for a core, so both are reported.
     */
    private static long processCpuNanos() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return 0;
    }

    /** VmHWM of this process (Linux), or -1 where /proc is not available. */
    static long peakRssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    String[] f = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(f[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
