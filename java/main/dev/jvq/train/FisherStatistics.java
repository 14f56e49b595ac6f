package dev.jvq.train;

import dev.jvq.backend.Backend;
import dev.jvq.model.LinearKind;
import dev.jvq.model.LlamaConfig;
import dev.jvq.model.LlamaModel;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Per block linear W [m x n], over calibration sequences s with gradients G_s = ∂ℓ_s/∂W: the mean
 * gradient Ḡ = (1/S) Σ G_s and the Kronecker factors of the empirical Fisher F ≈ F_O ⊗ F_I,
 * F_I = (1/S) Σ G_sᵀ G_s [n x n] and F_O = (1/S) Σ G_s G_sᵀ [m x m], all float64 (RSAVQ.md).
 * The factors come back damped: δ · mean(diag) added to the diagonal (δ = 1e-2 by default), which
 * keeps them invertible when S is small; {@link #damping} 0 gives the raw factors.
 */
public final class FisherStatistics {
    public static final double DEFAULT_DAMPING = 1e-2;

    private final LlamaConfig c;
    private final double damping;
    private final int fromLayer;
    private final int toLayer;
    private final double[][][] sumGrad;
    private final double[][][] sumInput;
    private final double[][][] sumOutput;
    private int sequences;

    /** Statistics for every layer. */
    public FisherStatistics(LlamaConfig config, double damping) {
        this(config, damping, 0, config.nLayers());
    }

    /**
     * Statistics for layers [fromLayer, toLayer) only, so that a caller short of memory can process
     * the layers in groups (each group costs a full backward pass per sequence).
     */
    public FisherStatistics(LlamaConfig config, double damping, int fromLayer, int toLayer) {
        if (!(damping >= 0) || Double.isInfinite(damping)) {
            throw new IllegalArgumentException("Fisher damping " + damping + " must be a finite number ≥ 0");
        }
        checkRange(config, fromLayer, toLayer);
        this.c = config;
        this.damping = damping;
        this.fromLayer = fromLayer;
        this.toLayer = toLayer;
        int kinds = LinearKind.values().length;
        sumGrad = new double[c.nLayers()][kinds][];
        sumInput = new double[c.nLayers()][kinds][];
        sumOutput = new double[c.nLayers()][kinds][];
        for (int l = fromLayer; l < toLayer; l++) {
            for (LinearKind k : LinearKind.values()) {
                int m = (int) k.rows(c);
                int n = (int) k.cols(c);
                sumGrad[l][k.ordinal()] = new double[m * n];
                sumInput[l][k.ordinal()] = new double[n * n];
                sumOutput[l][k.ordinal()] = new double[m * m];
            }
        }
    }

    private static void checkRange(LlamaConfig config, int fromLayer, int toLayer) {
        if (fromLayer < 0 || toLayer > config.nLayers() || fromLayer >= toLayer) {
            throw new IllegalArgumentException("Fisher layers [" + fromLayer + ", " + toLayer + ") must be a non-empty"
                    + " range inside [0, " + config.nLayers() + ")");
        }
    }

    /** Bytes of the accumulators for every layer: 8·(m·n + n² + m²) per block linear. */
    public static long bytesNeeded(LlamaConfig config) {
        return bytesNeeded(config, 0, config.nLayers());
    }

    /** Bytes of the accumulators for layers [fromLayer, toLayer). */
    public static long bytesNeeded(LlamaConfig config, int fromLayer, int toLayer) {
        checkRange(config, fromLayer, toLayer);
        long perLayer = 0;
        for (LinearKind k : LinearKind.values()) {
            long m = k.rows(config);
            long n = k.cols(config);
            perLayer += 8 * (m * n + n * n + m * m);
        }
        return perLayer * (toLayer - fromLayer);
    }

    /**
     * Bytes of one sequence's {@link LinearGradients} (float64, every block linear of every layer),
     * which live alongside the accumulators while a sequence is added.
     */
    public static long gradientBytes(LlamaConfig config) {
        long perLayer = 0;
        for (LinearKind k : LinearKind.values()) {
            perLayer += 8 * k.rows(config) * k.cols(config);
        }
        return perLayer * config.nLayers();
    }

    /** Back-propagates every sequence through {@code model} and accumulates its gradients, all layers. */
    public static FisherStatistics collect(LlamaModel model, Backend backend, Precision precision,
            List<int[]> sequences, double damping, IntConsumer progress) {
        return collect(model, backend, precision, sequences, damping, progress, 0, model.config().nLayers());
    }

    /** As {@link #collect(LlamaModel, Backend, Precision, List, double, IntConsumer)}, for layers [fromLayer, toLayer). */
    public static FisherStatistics collect(LlamaModel model, Backend backend, Precision precision,
            List<int[]> sequences, double damping, IntConsumer progress, int fromLayer, int toLayer) {
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("Fisher statistics need at least one calibration sequence");
        }
        FisherStatistics f = new FisherStatistics(model.config(), damping, fromLayer, toLayer);
        Backward backward = new Backward(model, backend, precision);
        for (int i = 0; i < sequences.size(); i++) {
            f.add(backward.compute(sequences.get(i)));
            if (progress != null) {
                progress.accept(i + 1);
            }
        }
        return f;
    }

    /** Adds one sequence's gradients (of the layers this object collects). */
    public void add(LinearGradients g) {
        if (!g.config().equals(c)) {
            throw new IllegalArgumentException("gradients of a model shaped " + g.config() + ", expected " + c);
        }
        for (int l = fromLayer; l < toLayer; l++) {
            for (LinearKind k : LinearKind.values()) {
                int m = (int) k.rows(c);
                int n = (int) k.cols(c);
                double[] grad = g.gradient(l, k);
                double[] sg = sumGrad[l][k.ordinal()];
                for (int i = 0; i < grad.length; i++) {
                    sg[i] += grad[i];
                }
                // F_I += GᵀG (Gram of the columns), F_O += G Gᵀ (Gram of the rows).
                MatrixProducts.addColumnGram(sumInput[l][k.ordinal()], grad, m, n);
                MatrixProducts.addRowGram(sumOutput[l][k.ordinal()], grad, m, n);
            }
        }
        sequences++;
    }

    public int sequences() {
        return sequences;
    }

    public double damping() {
        return damping;
    }

    /** First layer collected. */
    public int fromLayer() {
        return fromLayer;
    }

    /** One past the last layer collected. */
    public int toLayer() {
        return toLayer;
    }

    /** Ḡ [m x n] row-major. */
    public double[] meanGradient(int layer, LinearKind kind) {
        return mean(collected(sumGrad, layer, kind));
    }

    /** F_I [n x n] row-major, damped. */
    public double[] inputFactor(int layer, LinearKind kind) {
        return damped(mean(collected(sumInput, layer, kind)), (int) kind.cols(c));
    }

    /** F_O [m x m] row-major, damped. */
    public double[] outputFactor(int layer, LinearKind kind) {
        return damped(mean(collected(sumOutput, layer, kind)), (int) kind.rows(c));
    }

    private double[] collected(double[][][] sums, int layer, LinearKind kind) {
        if (layer < fromLayer || layer >= toLayer) {
            throw new IllegalArgumentException("Fisher statistics of layer " + layer + " were not collected (layers ["
                    + fromLayer + ", " + toLayer + "))");
        }
        return sums[layer][kind.ordinal()];
    }

    private double[] mean(double[] sum) {
        if (sequences == 0) {
            throw new IllegalStateException("no gradients accumulated");
        }
        double[] out = new double[sum.length];
        for (int i = 0; i < sum.length; i++) {
            out[i] = sum[i] / sequences;
        }
        return out;
    }

    private double[] damped(double[] f, int size) {
        double trace = 0;
        for (int i = 0; i < size; i++) {
            trace += f[i * size + i];
        }
        double add = damping * trace / size;
        for (int i = 0; i < size; i++) {
            f[i * size + i] += add;
        }
        return f;
    }
}
