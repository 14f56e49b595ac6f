package dev.jvq.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.backend.Backend;
import dev.jvq.backend.CpuBackend;
import dev.jvq.model.LinearKind;
import dev.jvq.model.LlamaModel;
import dev.jvq.model.ModelFiles;
import dev.jvq.model.SyntheticShape;
import dev.jvq.pipeline.ModelQuantizer;
import dev.jvq.quant.CodebookScope;
import dev.jvq.quant.HasVqParams;
import dev.jvq.quant.QuantMethod;
import dev.jvq.runtime.Generator;
import dev.jvq.runtime.DenseLinear;
import dev.jvq.runtime.Perplexity;
import dev.jvq.runtime.Sampler;
import dev.jvq.runtime.Transformer;
import dev.jvq.tensor.DType;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code jvq bench}: end-to-end throughput of the forward pass on a real checkpoint or on a model
 * with the shapes of a public one and random weights. Token ids are random (the speed of dense
 * layers does not depend on them); kernel micro-benchmarks are JMH ({@code make bench}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "End-to-end throughput benchmarks of the forward pass.",
        subcommands = {BenchCommand.Generate.class, BenchCommand.Eval.class, BenchGemvCommand.class,
            BenchQuantizeCommand.class, BenchFisherCommand.class})
public final class BenchCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 0;
    }

    /** Which model to run: a checkpoint, or random weights in a known shape. */
    static final class ModelChoice {
        @Option(names = "--synthetic", paramLabel = "SHAPE",
                description = "Random weights with the shapes of smollm2-135m or smollm2-1.7b.")
        String synthetic;

        @Option(names = "--model", paramLabel = "FILE", description = "A model checkpoint instead.")
        Path model;
    }

    /** Options common to the subcommands. */
    static final class Common {
        @ArgGroup(exclusive = true, multiplicity = "1")
        ModelChoice choice;

        @Option(names = "--dtype", defaultValue = "bf16", paramLabel = "f32|f16|bf16",
                description = "Weight type of a synthetic model (default: ${DEFAULT-VALUE}).")
        String dtype;

        @Option(names = "--seed", defaultValue = "1", description = "Seed of the weights and token ids.")
        long seed;

        @Option(names = "--json", description = "Print the result as one JSON object.")
        boolean json;

        @Mixin
        BackendOptions backendOptions;

        LlamaModel open(PrintWriter err) {
            if (choice.model != null) {
                return ModelFiles.openModel(choice.model);
            }
            SyntheticShape shape = SyntheticShape.byId(choice.synthetic);
            DType t = switch (dtype.toLowerCase(Locale.ROOT)) {
                case "f32" -> DType.F32;
                case "f16" -> DType.F16;
                case "bf16" -> DType.BF16;
                default -> throw new JvqException("--dtype " + dtype + ": choose f32, f16 or bf16");
            };
            long t0 = System.nanoTime();
            LlamaModel m = LlamaModel.synthetic(shape.config, t, seed);
            err.printf(Locale.ROOT, "bench: synthetic %s, %s, %.1f M parameters, %.2f GB, built in %.1f s%n", shape.id,
                    t, m.parameterCount() / 1e6, m.weightBytes() / 1e9, (System.nanoTime() - t0) / 1e9);
            err.flush();
            return m;
        }

        String modelName() {
            return choice.model != null ? choice.model.toString() : choice.synthetic;
        }

        int[] randomTokens(int n, int vocab) {
            SplittableRandom r = new SplittableRandom(seed);
            int[] t = new int[n];
            for (int i = 0; i < n; i++) {
                t[i] = r.nextInt(vocab);
            }
            return t;
        }

        ObjectNode header(ObjectMapper mapper, LlamaModel m, Backend b) {
            ObjectNode o = mapper.createObjectNode();
            o.put("model", modelName());
            o.put("parameters", m.parameterCount());
            o.put("weight_bytes", m.weightBytes());
            o.put("backend", b.name());
            o.put("device", b.describe());
            return o;
        }
    }

    @Command(name = "generate", mixinStandardHelpOptions = true,
            description = {"Prefill and decode throughput: a random prompt, then greedy decoding of -n tokens.",
                "With --method M: the dense model is timed, then quantised in place with M (no calibration: h = 1),"
                        + " then timed again in the same run, and the speedups printed."})
    static final class Generate implements Callable<Integer> {
        @Mixin
        Common common;

        @Option(names = "--prompt-tokens", defaultValue = "128", paramLabel = "P",
                description = "Prompt length (default: ${DEFAULT-VALUE}).")
        int promptTokens;

        @Option(names = "-n", defaultValue = "64", paramLabel = "N", description = "Tokens to decode (default: ${DEFAULT-VALUE}).")
        int steps;

        @Option(names = "--warmup", defaultValue = "1", paramLabel = "RUNS",
                description = "Untimed runs before the measured one (default: ${DEFAULT-VALUE}).")
        int warmup;

        @Option(names = "--method", paramLabel = "M",
                description = "Also time the model quantised with M (hasvq-mid, hasvq-high with optional overrides"
                        + " such as hasvq-mid:iters=1,stability=4; rtn4-row, rtnN-gG[-asym]).")
        String method;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        /** One timed configuration of the model. */
        record Run(Generator.Result result, long weightBytes) {
            double decodeWeightGbPerSecond() {
                return weightBytes * result.decodeTokensPerSecond() / 1e9;
            }
        }

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            if (promptTokens < 1 || steps < 1 || warmup < 0) {
                throw new JvqException("--prompt-tokens and -n must be >= 1, --warmup >= 0");
            }
            QuantMethod qm = method == null ? null : QuantMethod.parse(method);
            try (LlamaModel m = common.open(err)) {
                int context = promptTokens + steps;
                if (context > m.config().maxSeqLen()) {
                    throw new JvqException("--prompt-tokens + -n = " + context + " exceeds the context of "
                            + common.modelName() + " (" + m.config().maxSeqLen() + ")");
                }
                int[] prompt = common.randomTokens(promptTokens, m.config().vocabSize());
                try (Backend b = common.backendOptions.open(err);
                        Transformer t = new Transformer(m, b, context, Math.min(promptTokens, 512))) {
                    ObjectMapper mapper = new ObjectMapper();
                    ObjectNode header = common.header(mapper, m, b);
                    String denseLabel = m.linear(0, LinearKind.Q) instanceof DenseLinear d
                            ? "dense " + d.dtype().name().toLowerCase(Locale.ROOT) : "as loaded";
                    Run dense = time(t, prompt, m, err, qm == null ? "" : "dense ");
                    if (qm == null) {
                        print(out, b, dense, header, mapper);
                        return 0;
                    }
                    // The compressed model replaces the dense layers of this same instance (no second
                    // dense copy): the dense layers stay mapped or allocated but are no longer read.
                    long t0 = System.nanoTime();
                    Arena arena = Arena.ofShared();
                    m.attach(arena);
                    // Warnings (a clamped K, say) are already in the quantiser's log.
                    ModelQuantizer.quantize(m, qm, CodebookScope.MATRIX, null, b, arena,
                            line -> {
                                err.println("bench: " + line);
                                err.flush();
                            });
                    double quantSeconds = (System.nanoTime() - t0) / 1e9;
                    err.printf(Locale.ROOT, "bench: quantised the block linears with %s (%s) in %.1f s; weights now"
                            + " %.3f GB%n", qm.name(), describe(qm), quantSeconds, m.weightBytes() / 1e9);
                    err.flush();
                    Run compressed = time(t, prompt, m, err, qm.name() + " ");
                    printComparison(out, b, denseLabel, dense, compressed, qm, quantSeconds, header, mapper);
                }
            }
            return 0;
        }

        /** Warm-up runs, then one measured run of prefill + greedy decode. */
        private Run time(Transformer t, int[] prompt, LlamaModel m, PrintWriter err, String label) {
            Generator.Result r = null;
            for (int i = 0; i <= warmup; i++) {
                r = Generator.generate(t, prompt, steps, new Sampler(0, 0, 0), new int[0], id -> {});
                if (i < warmup) {
                    err.printf(Locale.ROOT, "bench: %swarm-up %d: prefill %.1f tokens/s, decode %.2f tokens/s%n", label,
                            i + 1, r.prefillTokensPerSecond(), r.decodeTokensPerSecond());
                    err.flush();
                }
            }
            return new Run(r, m.weightBytes());
        }

        private static void put(ObjectNode o, Run run) {
            Generator.Result r = run.result();
            o.put("weight_bytes", run.weightBytes());
            o.put("prefill_seconds", r.prefillSeconds());
            o.put("prefill_tokens_per_second", r.prefillTokensPerSecond());
            o.put("decode_steps", r.decodeSteps());
            o.put("decode_seconds", r.decodeSeconds());
            o.put("decode_tokens_per_second", r.decodeTokensPerSecond());
            o.put("decode_weight_gb_per_second", run.decodeWeightGbPerSecond());
        }

        private void print(PrintWriter out, Backend b, Run run, ObjectNode header, ObjectMapper mapper)
                throws Exception {
            Generator.Result r = run.result();
            if (common.json) {
                header.put("prompt_tokens", promptTokens);
                put(header, run);
                out.println(mapper.writeValueAsString(header));
            } else {
                out.printf(Locale.ROOT, "%s on %s: prefill %d tokens at %.1f tokens/s; decode %d steps at %.2f"
                        + " tokens/s (%.1f GB/s of weights)%n", common.modelName(), b.name(), promptTokens,
                        r.prefillTokensPerSecond(), r.decodeSteps(), r.decodeTokensPerSecond(),
                        run.decodeWeightGbPerSecond());
            }
            out.flush();
        }

        private void printComparison(PrintWriter out, Backend b, String denseLabel, Run dense, Run q, QuantMethod qm, double quantSeconds,
                ObjectNode header, ObjectMapper mapper) throws Exception {
            double decodeSpeedup = q.result().decodeTokensPerSecond() / dense.result().decodeTokensPerSecond();
            double prefillSpeedup = q.result().prefillTokensPerSecond() / dense.result().prefillTokensPerSecond();
            if (common.json) {
                header.remove("weight_bytes");
                header.put("prompt_tokens", promptTokens);
                header.put("threads", b instanceof CpuBackend c ? c.threads() : 0);
                header.put("dense_weights", denseLabel);
                header.put("method", qm.name());
                header.put("quantiser", describe(qm));
                header.put("quantise_seconds", quantSeconds);
                put(header.putObject("dense"), dense);
                put(header.putObject("compressed"), q);
                header.put("decode_speedup", decodeSpeedup);
                header.put("prefill_speedup", prefillSpeedup);
                out.println(mapper.writeValueAsString(header));
            } else {
                out.printf(Locale.ROOT, "%s on %s, prompt %d tokens, %d decode steps:%n", common.modelName(), b.name(),
                        promptTokens, dense.result().decodeSteps());
                for (Run run : new Run[] {dense, q}) {
                    Generator.Result r = run.result();
                    out.printf(Locale.ROOT, "  %-28s %8.3f GB  prefill %8.1f tokens/s  decode %7.2f tokens/s"
                            + " (%.1f GB/s of weights)%n", run == dense ? denseLabel : qm.name(),
                            run.weightBytes() / 1e9, r.prefillTokensPerSecond(), r.decodeTokensPerSecond(),
                            run.decodeWeightGbPerSecond());
                }
                out.printf(Locale.ROOT, "  speedup of %s over dense: decode %.2fx, prefill %.2fx%n", qm.name(),
                        decodeSpeedup, prefillSpeedup);
                out.printf(Locale.ROOT, "  quantiser: %s, %.1f s%n", describe(qm), quantSeconds);
            }
            out.flush();
        }

        /** Every knob the quantiser ran with, so a shortened k-means is visible in the report. */
        static String describe(QuantMethod qm) {
            return switch (qm) {
                case QuantMethod.HasVq hv -> {
                    HasVqParams p = hv.params();
                    yield String.format(Locale.ROOT, "HAS-VQ b=%d K=%d rho=%s stability=%d k-means iters=%d seed=%d,"
                            + " codebook per matrix, uniform Hessian (h = 1)", p.block(), p.centroids(),
                            p.sparsity(), p.stability(), p.iters(), p.seed());
                }
                case QuantMethod.Rsavq rq -> rq.name() + ", codebook per matrix, no calibration (needs"
                        + " ':edsg=off,wcsg=off': the Fisher statistics come from calibration text)";
                case QuantMethod.Rtn r -> "RTN " + r.params().methodName();
            };
        }
    }

    @Command(name = "eval", mixinStandardHelpOptions = true,
            description = "Perplexity-evaluation throughput: windows of random tokens through the full protocol.")
    static final class Eval implements Callable<Integer> {
        @Mixin
        Common common;

        @Option(names = "--seq-len", defaultValue = "256", paramLabel = "W", description = "Window length (default: ${DEFAULT-VALUE}).")
        int seqLen;

        @Option(names = "--windows", defaultValue = "4", paramLabel = "N", description = "Windows to time (default: ${DEFAULT-VALUE}).")
        int windows;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            if (windows < 1 || seqLen < 2) {
                throw new JvqException("--windows must be >= 1 and --seq-len >= 2");
            }
            try (LlamaModel m = common.open(err)) {
                if (seqLen > m.config().maxSeqLen()) {
                    throw new JvqException("--seq-len " + seqLen + " exceeds the context of " + common.modelName() + " ("
                            + m.config().maxSeqLen() + ")");
                }
                int[] tokens = common.randomTokens(seqLen * (windows + 1), m.config().vocabSize());
                try (Backend b = common.backendOptions.open(err); Transformer t = new Transformer(m, b, seqLen, seqLen)) {
                    // The first window is a warm-up (JIT, device uploads); the next ones are timed.
                    Perplexity.evaluate(t, tokens, new Perplexity.Options(seqLen, false, 0, 1), -1, null);
                    Perplexity.Result r = Perplexity.evaluate(t, tokens, new Perplexity.Options(seqLen, false, 1, windows),
                            -1, null);
                    if (common.json) {
                        ObjectMapper mapper = new ObjectMapper();
                        ObjectNode o = common.header(mapper, m, b);
                        o.put("seq_len", seqLen);
                        o.put("windows", r.windows());
                        o.put("tokens", r.tokens());
                        o.put("seconds", r.seconds());
                        o.put("tokens_per_second", r.tokensPerSecond());
                        o.put("ppl", r.ppl());
                        out.println(mapper.writeValueAsString(o));
                    } else {
                        out.printf(Locale.ROOT, "%s on %s: %d windows of %d tokens in %.2f s, %.1f tokens/s (ppl of"
                                + " random tokens %.1f)%n", common.modelName(), b.name(), r.windows(), seqLen,
                                r.seconds(), r.tokensPerSecond(), r.ppl());
                    }
                    out.flush();
                }
            }
            return 0;
        }
    }
}
