package dev.jvq.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.backend.Backend;
import dev.jvq.model.HfTokenizer;
import dev.jvq.model.LlamaModel;
import dev.jvq.model.ModelFiles;
import dev.jvq.model.Tokenizer;
import dev.jvq.runtime.Generator;
import dev.jvq.runtime.Sampler;
import dev.jvq.runtime.Transformer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code jvq generate}: continues a prompt, streaming the text to stdout. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generates text after a prompt (BOS + prompt tokens where the model uses BOS) and streams it"
                + " to stdout.",
            "Temperature 0 is greedy decoding; otherwise top-p (nucleus) sampling. Generation stops after -n"
                    + " tokens, at the end of the model's context, or at a BOS/EOS token."})
public final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "Model: a compressed .jvq file, a Hugging Face directory, or a llama2.c .bin.")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "Tokenizer file (default: the one inside a .jvq, tokenizer.json in a Hugging Face directory,"
                    + " tokenizer.bin next to a llama2.c model).")
    Path tokenizer;

    @Option(names = "--prompt", defaultValue = "", paramLabel = "TEXT", description = "Prompt text (default empty).")
    String prompt;

    @Option(names = "-n", defaultValue = "256", paramLabel = "N", description = "Tokens to generate (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--temperature", defaultValue = "1.0", paramLabel = "T",
            description = "Sampling temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-p", defaultValue = "0.9", paramLabel = "P",
            description = "Nucleus sampling threshold in [0, 1]; 0 or 1 samples the full distribution"
                    + " (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--seed", paramLabel = "S", description = "Random seed (default: from the clock).")
    Long seed;

    @Option(names = "--json", description = "Print one JSON object (ids, text, speeds) instead of streaming text.")
    boolean json;

    @Mixin
    BackendOptions backendOptions;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (steps < 0) {
            throw new JvqException("-n " + steps + ": must be >= 0");
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new JvqException("--temperature " + temperature + ": must be a finite number >= 0");
        }
        if (!(topP >= 0 && topP <= 1)) {
            throw new JvqException("--top-p " + topP + ": must be in [0, 1]");
        }
        long s = seed != null ? seed : System.nanoTime();
        ModelFiles.Opened opened = ModelFiles.openWithTokenizer(model, tokenizer);
        try (LlamaModel m = opened.model()) {
            Tokenizer tok = opened.tokenizer();
            int[] text = tok.encode(prompt);
            // llama2.c models always start from BOS; a Hugging Face tokenizer says whether its model does.
            boolean addBos = tok.bosId() >= 0 && (!(tok instanceof HfTokenizer hf) || hf.addsBos());
            int[] ids = addBos ? IntStream.concat(IntStream.of(tok.bosId()), Arrays.stream(text)).toArray() : text;
            if (ids.length == 0) {
                throw new JvqException("--prompt: empty, and this model does not start from a BOS token");
            }
            int context = m.config().maxSeqLen();
            if (ids.length >= context) {
                throw new JvqException("--prompt: " + ids.length + " tokens leave no room in the context of " + model
                        + " (" + context + " tokens)");
            }
            if (ids.length + steps > context) {
                err.printf("generate: -n %d stops at the model's context: %d new tokens at most%n", steps,
                        context - ids.length);
            }
            int needed = (int) Math.min(context, (long) ids.length + Math.max(steps, 1));
            int[] stops = IntStream.of(tok.bosId(), tok.eosId()).filter(i -> i >= 0).toArray();
            try (Backend backend = backendOptions.open(err);
                    Transformer t = new Transformer(m, backend, needed, Math.min(needed, 512))) {
                Utf8Stream stream = new Utf8Stream(out);
                int[] prev = {ids[ids.length - 1]};
                Generator.Result r = Generator.generate(t, ids, steps, new Sampler(temperature, topP, s), stops, id -> {
                    if (!json) {
                        stream.write(tok.decodeBytes(prev[0], id));
                    }
                    prev[0] = id;
                });
                if (json) {
                    ObjectMapper mapper = new ObjectMapper();
                    ObjectNode o = mapper.createObjectNode();
                    o.put("prompt", prompt);
                    ArrayNode p = o.putArray("prompt_tokens");
                    Arrays.stream(ids).forEach(p::add);
                    ArrayNode g = o.putArray("tokens");
                    Arrays.stream(r.generated()).forEach(g::add);
                    o.put("text", decodeAfter(tok, ids[ids.length - 1], r.generated()));
                    o.put("stop", r.stoppedAt() >= 0 ? "stop_token" : "length");
                    o.put("seed", s);
                    o.put("temperature", temperature);
                    o.put("top_p", topP);
                    o.put("prefill_seconds", r.prefillSeconds());
                    o.put("prefill_tokens_per_second", r.prefillTokensPerSecond());
                    o.put("decode_steps", r.decodeSteps());
                    o.put("decode_seconds", r.decodeSeconds());
                    o.put("decode_tokens_per_second", r.decodeSteps() == 0 ? 0 : r.decodeTokensPerSecond());
                    o.put("backend", backend.name());
                    out.println(mapper.writeValueAsString(o));
                } else {
                    stream.finish();
                    out.println();
                    err.printf(Locale.ROOT, "generate: %d prompt tokens at %.1f tokens/s, %d tokens generated,"
                            + " decode %.1f tokens/s (%s)%n", ids.length, r.prefillTokensPerSecond(),
                            r.generated().length, r.decodeTokensPerSecond(), backend.name());
                }
                out.flush();
                err.flush();
            }
        }
        return 0;
    }

    /** The text of {@code tokens} decoded as continuation of {@code prev} (so the BOS rule applies). */
    static String decodeAfter(Tokenizer tok, int prev, int[] tokens) {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        for (int t : tokens) {
            b.writeBytes(tok.decodeBytes(prev, t));
            prev = t;
        }
        return b.toString(java.nio.charset.StandardCharsets.UTF_8);
    }
}
