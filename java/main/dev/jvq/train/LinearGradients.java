package dev.jvq.train;

import dev.jvq.model.LinearKind;
import dev.jvq.model.LlamaConfig;

/**
 * The next-token cross-entropy of one sequence (mean over its scored positions) and its gradient
 * with respect to every block linear, each a row-major [rows x cols] array shaped like the weight.
 */
public final class LinearGradients {
    private final LlamaConfig config;
    private final double loss;
    private final int scored;
    private final double[][][] grads;

    LinearGradients(LlamaConfig config, double loss, int scored, double[][][] grads) {
        this.config = config;
        this.loss = loss;
        this.scored = scored;
        this.grads = grads;
    }

    public LlamaConfig config() {
        return config;
    }

    /** Mean negative log-likelihood over the scored positions. */
    public double loss() {
        return loss;
    }

    /** Positions scored: the sequence length minus one. */
    public int scored() {
        return scored;
    }

    /** dL/dW of one linear, [rows x cols] row-major (the array itself, not a copy). */
    public double[] gradient(int layer, LinearKind kind) {
        return grads[layer][kind.ordinal()];
    }
}
