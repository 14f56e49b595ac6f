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
    private final double[][][] sumGrad;
    private final double[][][] sumInput;
    private final double[][][] sumOutput;
    private int sequences;

    public FisherStatistics(LlamaConfig config, double damping) {
        if (!(damping >= 0) || Double.isInfinite(damping)) {
            throw new IllegalArgumentException("Fisher damping " + damping + " must be a finite number ≥ 0");
        }
        this.c = config;
        this.damping = damping;
        int kinds = LinearKind.values().length;
        sumGrad = new double[c.nLayers()][kinds][];
        sumInput = new double[c.nLayers()][kinds][];
        sumOutput = new double[c.nLayers()][kinds][];
        for (int l = 0; l < c.nLayers(); l++) {
            for (LinearKind k : LinearKind.values()) {
                int m = (int) k.rows(c);
                int n = (int) k.cols(c);
                sumGrad[l][k.ordinal()] = new double[m * n];
                sumInput[l][k.ordinal()] = new double[n * n];
                sumOutput[l][k.ordinal()] = new double[m * m];
            }
        }
    }

    /** Back-propagates every sequence through {@code model} and accumulates its gradients. */
    public static FisherStatistics collect(LlamaModel model, Backend backend, Precision precision,
            List<int[]> sequences, double damping, IntConsumer progress) {
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("Fisher statistics need at least one calibration sequence");
        }
        FisherStatistics f = new FisherStatistics(model.config(), damping);
        Backward backward = new Backward(model, backend, precision);
        for (int i = 0; i < sequences.size(); i++) {
            f.add(backward.compute(sequences.get(i)));
            if (progress != null) {
                progress.accept(i + 1);
            }
        }
        return f;
    }

    /** Adds one sequence's gradients. */
    public void add(LinearGradients g) {
        if (!g.config().equals(c)) {
            throw new IllegalArgumentException("gradients of a model shaped " + g.config() + ", expected " + c);
        }
        for (int l = 0; l < c.nLayers(); l++) {
            for (LinearKind k : LinearKind.values()) {
                int m = (int) k.rows(c);
                int n = (int) k.cols(c);
                double[] grad = g.gradient(l, k);
                double[] sg = sumGrad[l][k.ordinal()];
                for (int i = 0; i < grad.length; i++) {
                    sg[i] += grad[i];
                }
                addGram(sumInput[l][k.ordinal()], grad, m, n, true);
                addGram(sumOutput[l][k.ordinal()], grad, m, n, false);
            }
        }
        sequences++;
    }

    /**
     * acc += GᵀG [n x n] (columns, {@code ofColumns}) or G Gᵀ [m x m] (rows). The upper triangle is
     * summed and mirrored, so the result is exactly symmetric.
     */
    private static void addGram(double[] acc, double[] g, int m, int n, boolean ofColumns) {
        int size = ofColumns ? n : m;
        int len = ofColumns ? m : n;
        for (int a = 0; a < size; a++) {
            for (int b = a; b < size; b++) {
                double s = 0;
                for (int r = 0; r < len; r++) {
                    s += ofColumns ? g[r * n + a] * g[r * n + b] : g[a * n + r] * g[b * n + r];
                }
                acc[a * size + b] += s;
                if (b != a) {
                    acc[b * size + a] += s;
                }
            }
        }
    }

    public int sequences() {
        return sequences;
    }

    public double damping() {
        return damping;
    }

    /** Ḡ [m x n] row-major. */
    public double[] meanGradient(int layer, LinearKind kind) {
        return mean(sumGrad[layer][kind.ordinal()]);
    }

    /** F_I [n x n] row-major, damped. */
    public double[] inputFactor(int layer, LinearKind kind) {
        return damped(mean(sumInput[layer][kind.ordinal()]), (int) kind.cols(c));
    }

    /** F_O [m x m] row-major, damped. */
    public double[] outputFactor(int layer, LinearKind kind) {
        return damped(mean(sumOutput[layer][kind.ordinal()]), (int) kind.rows(c));
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
