package dev.jvq.cli;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.calib.CalibrationSet;
import dev.jvq.model.Tokenizer;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Calibration options shared by {@code quantize} and {@code demo}. */
final class CalibrationOptions {
    @Option(names = "--calib", paramLabel = "FILE",
            description = "Calibration text (UTF-8); paper: WikiText-2 raw train. Required by HAS-VQ and RSAVQ.")
    Path file;

    @Option(names = "--calib-seqs", defaultValue = "128", paramLabel = "N",
            description = "Calibration sequences (default: ${DEFAULT-VALUE}).")
    int seqs;

    @Option(names = "--calib-len", defaultValue = "1024", paramLabel = "L",
            description = "Tokens per calibration sequence (default: ${DEFAULT-VALUE}; at most the model's context).")
    int len;

    @Option(names = "--calib-lines", defaultValue = "1000", paramLabel = "N",
            description = "Paper recipe: the first N lines of --calib, joined with blank lines (default: ${DEFAULT-VALUE}).")
    int lines;

    @Option(names = "--calib-bos", description = "Cut the whole text into BOS-led windows as 'jvq eval --bos' does"
            + " (the fixture protocol) instead of the paper recipe.")
    boolean bos;

    @Option(names = "--hessian-ema", description = "Paper reference code: h <- 0.95 h + 0.05 mean(x^2) per"
            + " sequence, instead of the exact mean over all tokens.")
    boolean ema;

    CalibrationSet load(Tokenizer tok, int maxSeqLen) {
        if (file == null) {
            throw new JvqException("--calib FILE is required for HAS-VQ and RSAVQ (the papers calibrate on WikiText-2"
                    + " raw train)");
        }
        if (len > maxSeqLen) {
            throw new JvqException("--calib-len " + len + " exceeds the model's context of " + maxSeqLen + " tokens");
        }
        if (lines < 1) {
            throw new JvqException("--calib-lines must be at least 1, got " + lines);
        }
        return bos ? CalibrationSet.bosWindows(file, tok, seqs, len) : CalibrationSet.paper(file, tok, lines, seqs, len);
    }

    ObjectNode describe(CalibrationSet c) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("text", file.toString());
        o.put("recipe", bos ? "bos-windows" : "paper (first " + lines + " lines)");
        o.put("sequences", c.count());
        o.put("length", len);
        o.put("tokens", c.tokens());
        o.put("hessian", ema ? "ema" : "mean");
        return o;
    }
}
