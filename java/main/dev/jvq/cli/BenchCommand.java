package dev.jvq.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.backend.Backend;
import dev.jvq.model.LlamaModel;
import dev.jvq.model.ModelFiles;
import dev.jvq.model.SyntheticShape;
import dev.jvq.runtime.Generator;
import dev.jvq.runtime.Perplexity;
import dev.jvq.runtime.Sampler;
import dev.jvq.runtime.Transformer;
import dev.jvq.tensor.DType;
import java.io.PrintWriter;
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
            description = "Prefill and decode throughput: a random prompt, then greedy decoding of -n tokens.")
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

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            if (promptTokens < 1 || steps < 1 || warmup < 0) {
                throw new JvqException("--prompt-tokens and -n must be >= 1, --warmup >= 0");
            }
            try (LlamaModel m = common.open(err)) {
                int context = promptTokens + steps;
                if (context > m.config().maxSeqLen()) {
                    throw new JvqException("--prompt-tokens + -n = " + context + " exceeds the context of "
                            + common.modelName() + " (" + m.config().maxSeqLen() + ")");
                }
                int[] prompt = common.randomTokens(promptTokens, m.config().vocabSize());
                try (Backend b = common.backendOptions.open(err);
                        Transformer t = new Transformer(m, b, context, Math.min(promptTokens, 512))) {
                    Generator.Result r = null;
                    for (int i = 0; i <= warmup; i++) {
                        r = Generator.generate(t, prompt, steps, new Sampler(0, 0, 0), new int[0], id -> {});
                        if (i < warmup) {
                            err.printf(Locale.ROOT, "bench: warm-up %d: prefill %.1f tokens/s, decode %.2f tokens/s%n",
                                    i + 1, r.prefillTokensPerSecond(), r.decodeTokensPerSecond());
                            err.flush();
                        }
                    }
                    double gbPerSecond = m.weightBytes() * r.decodeTokensPerSecond() / 1e9;
                    if (common.json) {
                        ObjectMapper mapper = new ObjectMapper();
                        ObjectNode o = common.header(mapper, m, b);
                        o.put("prompt_tokens", promptTokens);
                        o.put("prefill_seconds", r.prefillSeconds());
                        o.put("prefill_tokens_per_second", r.prefillTokensPerSecond());
                        o.put("decode_steps", r.decodeSteps());
                        o.put("decode_seconds", r.decodeSeconds());
                        o.put("decode_tokens_per_second", r.decodeTokensPerSecond());
                        o.put("decode_weight_gb_per_second", gbPerSecond);
                        out.println(mapper.writeValueAsString(o));
                    } else {
                        out.printf(Locale.ROOT, "%s on %s: prefill %d tokens at %.1f tokens/s; decode %d steps at %.2f"
                                + " tokens/s (%.1f GB/s of weights)%n", common.modelName(), b.name(), promptTokens,
                                r.prefillTokensPerSecond(), r.decodeSteps(), r.decodeTokensPerSecond(), gbPerSecond);
                    }
                    out.flush();
                }
            }
            return 0;
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
