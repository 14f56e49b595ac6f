package dev.jvq.cli;

import dev.jvq.model.HfExporter;
import dev.jvq.model.Llama2cCheckpoint;
import dev.jvq.model.Llama2cTokenizer;
import dev.jvq.model.LlamaModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code jvq convert}: a llama2.c checkpoint (and tokenizer.bin) as a Hugging Face model directory. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Exports a llama2.c checkpoint as a Hugging Face model directory (config.json,"
                + " model.safetensors, tokenizer.json, tokenizer_config.json) that computes the same logits.",
            "The q/k projections are reordered for Hugging Face's half-split rotary embedding; the tokenizer"
                    + " becomes a SentencePiece-style BPE tokenizer.json with byte fallback."})
public final class ConvertCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "FILE", description = "llama2.c checkpoint (.bin).")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "llama2.c tokenizer.bin (default: none; the directory then has no tokenizer files).")
    Path tokenizer;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory (created if needed).")
    Path out;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        Llama2cTokenizer tok = tokenizer == null ? null : Llama2cTokenizer.load(tokenizer);
        try (LlamaModel m = Llama2cCheckpoint.load(model)) {
            HfExporter.export(m, tok, out);
            err.println("jvq convert: wrote " + out + " (" + m.config().nLayers() + " layers, "
                    + m.parameterCount() + " parameters" + (tok == null ? ", no tokenizer" : "") + ")");
        }
        return 0;
    }
}
