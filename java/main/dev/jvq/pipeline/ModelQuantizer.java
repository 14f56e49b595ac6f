package dev.jvq.pipeline;

import dev.jvq.JvqException;
import dev.jvq.backend.Backend;
import dev.jvq.calib.HessianCalibration;
import dev.jvq.model.LinearKind;
import dev.jvq.model.LlamaModel;
import dev.jvq.quant.CodebookScope;
import dev.jvq.quant.HasVqQuantizer;
import dev.jvq.quant.QuantMethod;
import dev.jvq.quant.Rtn;
import dev.jvq.quant.VqLinear;
import dev.jvq.rsavq.RsavqQuantizer;
import dev.jvq.runtime.DenseLinear;
import dev.jvq.runtime.Linear;
import dev.jvq.train.FisherStatistics;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Replaces every block linear of a model (q, k, v, o, gate, up, down in each layer) by its quantised
 * form; embeddings, norms and the output head stay as they are (ALGORITHMS.md section 2). The
 * quantised storage is allocated in {@code arena}, which the caller keeps alive with the model.
 */
public final class ModelQuantizer {
    private ModelQuantizer() {}

    /**
     * @param hessian the calibration statistics (HAS-VQ importance); null means h = 1 (no calibration)
     * @return warnings the quantiser raised (for example a clamped K)
     */
    public static List<String> quantize(LlamaModel model, QuantMethod method, CodebookScope scope,
            HessianCalibration hessian, Backend backend, Arena arena, Consumer<String> log) {
        return quantize(model, method, scope, hessian, null, backend, arena, log);
    }

    /**
     * @param hessian the calibration statistics of HAS-VQ; null means h = 1 (no calibration)
     * @param fisher the Fisher statistics of RSAVQ (null: RSAVQ only with EDSG and WCSG off)
     * @return warnings the quantiser raised (for example a clamped K)
     */
    public static List<String> quantize(LlamaModel model, QuantMethod method, CodebookScope scope,
            HessianCalibration hessian, FisherStatistics fisher, Backend backend, Arena arena, Consumer<String> log) {
        int layers = model.config().nLayers();
        List<String> warnings = new ArrayList<>();
        switch (method) {
            case QuantMethod.HasVq hv -> {
                List<HasVqQuantizer.Input> inputs = new ArrayList<>();
                for (int l = 0; l < layers; l++) {
                    for (LinearKind k : LinearKind.values()) {
                        inputs.add(new HasVqQuantizer.Input(CompressedModel.linearName(l, k),
                                k.name().toLowerCase(Locale.ROOT), dense(model, l, k).weight(),
                                hessian == null ? null : hessian.diagonalF32(l, k)));
                    }
                }
                HasVqQuantizer.Result r = HasVqQuantizer.quantize(inputs, hv.params(), scope, backend, arena, log);
                int i = 0;
                for (int l = 0; l < layers; l++) {
                    for (LinearKind k : LinearKind.values()) {
                        VqLinear q = r.layers().get(i++);
                        model.setLinear(l, k, q);
                    }
                }
                warnings.addAll(r.warnings());
            }
            case QuantMethod.Rsavq rq -> {
                if (fisher == null && (rq.params().edsg() || rq.params().wcsg())) {
                    throw new JvqException(method.name() + ": RSAVQ needs Fisher statistics from calibration text"
                            + " (or ':edsg=off,wcsg=off' for plain PQ k-means)");
                }
                // With a codebook per matrix every matrix is coded on its own, so its weights, Ñ and Fisher
                // copies are built and dropped one matrix at a time; shared codebooks need them all at once.
                List<RsavqQuantizer.Input> inputs = new ArrayList<>();
                for (int l = 0; l < layers; l++) {
                    for (LinearKind k : LinearKind.values()) {
                        RsavqQuantizer.Fisher f = fisher == null ? null
                                : new RsavqQuantizer.Fisher(fisher.meanGradient(l, k), fisher.inputFactor(l, k),
                                        fisher.outputFactor(l, k));
                        RsavqQuantizer.Input in = new RsavqQuantizer.Input(CompressedModel.linearName(l, k),
                                k.name().toLowerCase(Locale.ROOT), dense(model, l, k).weight(), f);
                        if (scope == CodebookScope.MATRIX) {
                            RsavqQuantizer.Result r = RsavqQuantizer.quantize(List.of(in), rq.params(), scope, backend,
                                    arena, log);
                            model.setLinear(l, k, r.layers().getFirst());
                            warnings.addAll(r.warnings());
                        } else {
                            inputs.add(in);
                        }
                    }
                }
                if (scope != CodebookScope.MATRIX) {
                    RsavqQuantizer.Result r = RsavqQuantizer.quantize(inputs, rq.params(), scope, backend, arena, log);
                    int i = 0;
                    for (int l = 0; l < layers; l++) {
                        for (LinearKind k : LinearKind.values()) {
                            model.setLinear(l, k, r.layers().get(i++));
                        }
                    }
                    warnings.addAll(r.warnings());
                }
            }
            case QuantMethod.Rtn rtn -> {
                for (int l = 0; l < layers; l++) {
                    for (LinearKind k : LinearKind.values()) {
                        String name = CompressedModel.linearName(l, k);
                        model.setLinear(l, k, Rtn.quantize(name, dense(model, l, k).weight(), rtn.params(), arena));
                    }
                    log.accept(String.format(Locale.ROOT, "%s: layer %d/%d done", method.name(), l + 1, layers));
                }
            }
        }
        return warnings;
    }

    private static DenseLinear dense(LlamaModel model, int layer, LinearKind kind) {
        Linear lin = model.linear(layer, kind);
        if (!(lin instanceof DenseLinear d)) {
            throw new JvqException(model.source() + ": layer " + CompressedModel.linearName(layer, kind)
                    + " is already quantised; quantise from the original checkpoint");
        }
        return d;
    }
}
