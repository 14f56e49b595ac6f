package dev.jvq.calib;

import dev.jvq.backend.Backend;
import dev.jvq.model.LinearKind;
import dev.jvq.model.LlamaModel;
import dev.jvq.runtime.Transformer;
import java.lang.foreign.Arena;
import java.util.EnumMap;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * Runs the unquantised model over a calibration set and collects the Hessian diagonal of every
 * linear layer's input (ALGORITHMS.md section 1). Layers that read the same activations (q/k/v;
 * gate/up) share one statistic, so one is kept per layer and {@link LinearKind#inputGroup() group}.
 */
public final class HessianCalibration implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final HessianDiagonal[][] stats; // [layer][group ordinal]
    private final int nLayers;

    private HessianCalibration(LlamaModel model, boolean ema) {
        var c = model.config();
        nLayers = c.nLayers();
        stats = new HessianDiagonal[nLayers][LinearKind.values().length];
        for (int l = 0; l < nLayers; l++) {
            for (LinearKind k : LinearKind.values()) {
                if (k.inputGroup() == k) {
                    stats[l][k.ordinal()] = new HessianDiagonal((int) k.cols(c), ema, arena);
                }
            }
        }
    }

    /**
     * Collects the statistics. {@code progress} is told after each sequence how many are done.
     * The model's linears are used as they are (call this before replacing any of them).
     */
    public static HessianCalibration collect(LlamaModel model, Backend backend, CalibrationSet calib, boolean ema,
            IntConsumer progress) {
        HessianCalibration h = new HessianCalibration(model, ema);
        int longest = calib.sequences().stream().mapToInt(s -> s.length).max().orElse(1);
        try (Transformer t = new Transformer(model, backend, longest, longest)) {
            t.setObserver((layer, group, activations, nTokens) ->
                    h.stats[layer][group.ordinal()].accumulate(backend, activations, nTokens));
            int done = 0;
            for (int[] seq : calib.sequences()) {
                t.forward(seq, 0, seq.length, 0, Transformer.Logits.NONE);
                for (HessianDiagonal[] layer : h.stats) {
                    for (HessianDiagonal d : layer) {
                        if (d != null) {
                            d.endSequence();
                        }
                    }
                }
                progress.accept(++done);
            }
        } catch (RuntimeException | Error e) {
            h.close();
            throw e;
        }
        return h;
    }

    /** h for the input of {@code kind} in {@code layer} (shared within its input group). */
    public double[] diagonal(int layer, LinearKind kind) {
        return stats[layer][kind.inputGroup().ordinal()].values();
    }

    /** The same as float, the form the quantisers take. */
    public float[] diagonalF32(int layer, LinearKind kind) {
        double[] d = diagonal(layer, kind);
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    /** Tokens that reached each layer (the same for every layer). */
    public long tokens() {
        return stats[0][LinearKind.Q.ordinal()].tokensSeen();
    }

    public Map<LinearKind, double[]> layerDiagonals(int layer) {
        Map<LinearKind, double[]> m = new EnumMap<>(LinearKind.class);
        for (LinearKind k : LinearKind.values()) {
            m.put(k, diagonal(layer, k));
        }
        return m;
    }

    public int layers() {
        return nLayers;
    }

    @Override
    public void close() {
        arena.close();
    }
}
