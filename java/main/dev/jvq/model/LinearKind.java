package dev.jvq.model;

/**
 * The seven linear layers of a Llama block. Layers that read the same activations share an
 * {@link #inputGroup() input group}: q, k and v read the attention-normed hidden state, gate and up
 * read the MLP-normed hidden state. Calibration statistics are collected once per group.
 */
public enum LinearKind {
    /** Query projection, dim → nHeads·headDim. */
    Q("wq"),
    /** Key projection, dim → nKvHeads·headDim. */
    K("wk"),
    /** Value projection, dim → nKvHeads·headDim. */
    V("wv"),
    /** Attention output projection, nHeads·headDim → dim. */
    O("wo"),
    /** MLP gate (llama2.c w1), dim → hidden. */
    GATE("w1"),
    /** MLP up (llama2.c w3), dim → hidden. */
    UP("w3"),
    /** MLP down (llama2.c w2), hidden → dim. */
    DOWN("w2");

    /** The llama2.c / Meta name of the weight. */
    public final String metaName;

    LinearKind(String metaName) {
        this.metaName = metaName;
    }

    /** The kind whose input this one shares: Q for Q/K/V, GATE for GATE/UP, itself otherwise. */
    public LinearKind inputGroup() {
        return switch (this) {
            case Q, K, V -> Q;
            case GATE, UP -> GATE;
            default -> this;
        };
    }

    /** Output rows of this layer in a model of the given shape. */
    public long rows(LlamaConfig c) {
        return switch (this) {
            case Q -> (long) c.nHeads() * c.headDim();
            case K, V -> c.kvDim();
            case O, DOWN -> c.dim();
            case GATE, UP -> c.hiddenDim();
        };
    }

    /** Input columns of this layer in a model of the given shape. */
    public long cols(LlamaConfig c) {
        return switch (this) {
            case Q, K, V, GATE, UP -> c.dim();
            case O -> (long) c.nHeads() * c.headDim();
            case DOWN -> c.hiddenDim();
        };
    }
}
