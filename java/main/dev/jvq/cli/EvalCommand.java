package dev.jvq.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.backend.Backend;
import dev.jvq.model.LlamaModel;
import dev.jvq.model.ModelFiles;
import dev.jvq.model.Tokenizer;
import dev.jvq.runtime.Perplexity;
import dev.jvq.runtime.ProcessMemory;
import dev.jvq.runtime.TextFile;
import dev.jvq.runtime.Transformer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code jvq eval}: perplexity of a model on a text file (ALGORITHMS.md section 6). */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Perplexity of a model on a UTF-8 text file.",
            "Paper protocol: non-overlapping windows of --seq-len tokens from the start of the tokenised text,"
                    + " windows under 100 tokens skipped, the first token of each window context only,"
                    + " ppl = exp(mean window loss); the token-weighted ppl is shown beside it.",
            "--bos: each window is BOS + (seq-len - 1) text tokens and every text token is scored."})
public final class EvalCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "Model: a compressed .jvq file, a Hugging Face directory, or a llama2.c .bin.")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "Tokenizer file (default: the one inside a .jvq, tokenizer.json in a Hugging Face directory,"
                    + " tokenizer.bin next to a llama2.c model).")
    Path tokenizer;

    @Option(names = "--text", required = true, paramLabel = "FILE", description = "Evaluation text (UTF-8).")
    Path text;

    @Option(names = "--seq-len", defaultValue = "1024", paramLabel = "W",
            description = "Window length in tokens (default: ${DEFAULT-VALUE}, the paper's).")
    int seqLen;

    @Option(names = "--bos", description = "Start every window with BOS and score every text token.")
    boolean bos;

    @Option(names = "--max-windows", defaultValue = "0", paramLabel = "N",
            description = "Evaluate at most N windows (default 0 = all).")
    int maxWindows;

    @Option(names = "--skip-windows", defaultValue = "0", paramLabel = "N",
            description = "Leave out the first N windows.")
    int skipWindows;

    @Option(names = "--json", description = "Print the result as one JSON object.")
    boolean json;

    @Mixin
    BackendOptions backendOptions;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (maxWindows < 0 || skipWindows < 0) {
            throw new JvqException("--max-windows and --skip-windows must be >= 0");
        }
        long startRss = ProcessMemory.residentBytes();
        ModelFiles.Opened opened = ModelFiles.openWithTokenizer(model, tokenizer);
        try (LlamaModel m = opened.model()) {
            Tokenizer tok = opened.tokenizer();
            if (seqLen < 2) {
                throw new JvqException("--seq-len " + seqLen + ": a window needs at least 2 tokens");
            }
            if (seqLen > m.config().maxSeqLen()) {
                throw new JvqException("--seq-len " + seqLen + " exceeds the context of " + model + " ("
                        + m.config().maxSeqLen() + " tokens)");
            }
            if (bos && tok.bosId() < 0) {
                throw new JvqException("--bos: the tokenizer of " + model + " has no BOS token");
            }
            String content = TextFile.readUtf8(text);
            long t0 = System.nanoTime();
            int[] ids = tok.encode(content);
            double tokenizeSeconds = (System.nanoTime() - t0) / 1e9;
            Perplexity.Options opts = new Perplexity.Options(seqLen, bos, skipWindows, maxWindows);
            int windows = Perplexity.windows(ids, opts, tok.bosId()).size();
            if (windows == 0) {
                throw new JvqException(text + ": " + ids.length + " tokens give no window of at least "
                        + Math.min(Perplexity.MIN_WINDOW, seqLen) + " tokens to evaluate"
                        + (skipWindows > 0 ? " after skipping " + skipWindows : ""));
            }
            try (Backend backend = backendOptions.open(err); Transformer t = new Transformer(m, backend, seqLen, seqLen)) {
                err.printf(Locale.ROOT, "eval: %s on %s (%s), %d tokens (tokenised in %.1f s), %d windows of %d%s%n",
                        model, backend.name(), backend.describe(), ids.length, tokenizeSeconds, windows, seqLen,
                        bos ? " with BOS" : "");
                err.flush();
                long[] lastReport = {System.nanoTime()};
                Perplexity.Result r = Perplexity.evaluate(t, ids, opts, tok.bosId(), (done, total, tokens, sec) -> {
                    long now = System.nanoTime();
                    if (now - lastReport[0] > 1_000_000_000L || done == total) {
                        lastReport[0] = now;
                        err.printf(Locale.ROOT, "eval: %d/%d windows, %d tokens, %.0f tokens/s%n", done, total, tokens,
                                tokens / sec);
                        err.flush();
                    }
                });
                EvalMemory mem = EvalMemory.now(startRss, EvalMemory.sizeOf(model), t.kvCacheBytes(),
                        t.activationBytes());
                if (json) {
                    ObjectMapper mapper = new ObjectMapper();
                    ObjectNode o = mapper.createObjectNode();
                    o.put("ppl", r.ppl());
                    o.put("ppl_token_weighted", r.pplTokenWeighted());
                    o.put("windows", r.windows());
                    o.put("tokens", r.tokens());
                    o.put("scored_tokens", r.scored());
                    o.put("seconds", r.seconds());
                    o.put("tokens_per_second", r.tokensPerSecond());
                    o.put("seq_len", seqLen);
                    o.put("bos", bos);
                    o.put("backend", backend.name());
                    mem.put(o);
                    out.println(mapper.writeValueAsString(o));
                } else {
                    out.printf(Locale.ROOT, "perplexity %.4f (token-weighted %.4f) over %d windows of %d tokens%s;"
                            + " %d tokens in %.2f s, %.0f tokens/s%n", r.ppl(), r.pplTokenWeighted(), r.windows(),
                            seqLen, bos ? " with BOS" : "", r.tokens(), r.seconds(), r.tokensPerSecond());
                    out.println(mem.text());
                }
                out.flush();
            }
        }
        return 0;
    }
}
