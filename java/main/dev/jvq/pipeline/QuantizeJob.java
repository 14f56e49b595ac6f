package dev.jvq.pipeline;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.backend.Backend;
import dev.jvq.calib.CalibrationSet;
import dev.jvq.calib.HessianCalibration;
import dev.jvq.format.JvqFile;
import dev.jvq.format.JvqReader;
import dev.jvq.model.LlamaModel;
import dev.jvq.quant.BitReport;
import dev.jvq.quant.CodebookScope;
import dev.jvq.quant.QuantMethod;
import dev.jvq.train.FisherStatistics;
import dev.jvq.train.Precision;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Quantises a dense model with one method and writes the .jvq file: the work behind
 * {@code jvq quantize}, also used by {@code jvq demo} (which calibrates once for several methods).
 */
public final class QuantizeJob {
    private QuantizeJob() {}

    /** What came out: the file, its bit report, timings and the quantiser's warnings. */
    public record Result(Path out, long fileBytes, BitReport bits, double quantizeSeconds, List<String> warnings) {}

    /** Whether the method reads the Hessian diagonal (HAS-VQ does). */
    public static boolean needsHessian(QuantMethod m) {
        return m instanceof QuantMethod.HasVq;
    }

    /** Whether the method reads Fisher statistics (RSAVQ with EDSG or WCSG). */
    public static boolean needsFisher(QuantMethod m) {
        return m instanceof QuantMethod.Rsavq r && (r.params().edsg() || r.params().wcsg());
    }

    /** Whether the method reads calibration text at all (HAS-VQ, RSAVQ with EDSG or WCSG; not RTN). */
    public static boolean needsCalibration(QuantMethod m) {
        return needsHessian(m) || needsFisher(m);
    }

    /**
     * Back-propagates {@code calib} through the unquantised model (f32 products) and accumulates the
     * Fisher statistics of RSAVQ, logging the memory they take first and progress with an ETA.
     */
    public static FisherStatistics collectFisher(LlamaModel model, Backend backend, CalibrationSet calib,
            double damping, Consumer<String> log) {
        long t0 = System.nanoTime();
        int n = calib.count();
        log.accept(String.format(Locale.ROOT, "fisher: %d sequences, %d tokens, back-propagation; the statistics take"
                + " %.1f MiB", n, calib.tokens(), FisherStatistics.bytesNeeded(model.config()) / 1048576.0));
        return FisherStatistics.collect(model, backend, Precision.F32, calib.sequences(), damping, done -> {
            double s = (System.nanoTime() - t0) / 1e9;
            if (done == n || done % Math.max(1, n / 10) == 0) {
                log.accept(String.format(Locale.ROOT, "fisher: %d/%d sequences, %.1f s, ETA %.0f s", done, n, s,
                        s / done * (n - done)));
            }
        });
    }

    /** Runs the unquantised model over {@code calib}, logging progress with an ETA. */
    public static HessianCalibration calibrate(LlamaModel model, Backend backend, CalibrationSet calib, boolean ema,
            Consumer<String> log) {
        long t0 = System.nanoTime();
        int n = calib.count();
        log.accept(String.format(Locale.ROOT, "calibrate: %d sequences, %d tokens, Hessian diagonal (%s)", n,
                calib.tokens(), ema ? "EMA, paper protocol" : "mean"));
        return HessianCalibration.collect(model, backend, calib, ema, done -> {
            double s = (System.nanoTime() - t0) / 1e9;
            if (done == n || done % Math.max(1, n / 10) == 0) {
                log.accept(String.format(Locale.ROOT, "calibrate: %d/%d sequences, %.1f s, ETA %.0f s", done, n, s,
                        s / done * (n - done)));
            }
        });
    }

    /**
     * Quantises {@code model} in place (its block linears are replaced; their storage lives in
     * {@code arena}) and saves it to {@code out}.
     */
    public static Result run(LlamaModel model, StoredTokenizer tokenizer, QuantMethod method, CodebookScope scope,
            HessianCalibration hessian, FisherStatistics fisher, ObjectNode extraMetadata, Path out, Backend backend,
            Arena arena, Consumer<String> log) {
        long t0 = System.nanoTime();
        List<String> warnings = ModelQuantizer.quantize(model, method, scope, hessian, fisher, backend, arena, log);
        double seconds = (System.nanoTime() - t0) / 1e9;
        for (String w : warnings) {
            log.accept("warning: " + w);
        }
        ObjectNode meta = extraMetadata == null ? JsonNodeFactory.instance.objectNode() : extraMetadata.deepCopy();
        meta.put("method", method.name());
        if (!(method instanceof QuantMethod.Rtn)) {
            meta.put("codebook_scope", scope.label());
        }
        meta.put("source", model.source());
        // No timings or dates in the file: the same inputs and seed must give the same bytes.
        CompressedModel.save(out, model, tokenizer, meta);
        long size;
        try {
            size = Files.size(out);
        } catch (IOException e) {
            throw new JvqException(out + ": cannot stat the file just written: " + e.getMessage(), e);
        }
        try (JvqFile f = JvqReader.open(out)) {
            return new Result(out, size, f.contents().bitReport(size), seconds, warnings);
        }
    }
}
