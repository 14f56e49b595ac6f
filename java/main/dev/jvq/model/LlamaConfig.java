package dev.jvq.model;

import dev.jvq.backend.RopeStyle;

/**
 * Hyper-parameters of a Llama-family transformer, whatever checkpoint format they came from.
 *
 * @param dim model width (hidden_size)
 * @param hiddenDim MLP width (intermediate_size)
 * @param nLayers transformer blocks
 * @param nHeads query heads
 * @param nKvHeads key/value heads (grouped-query attention when smaller than nHeads)
 * @param vocabSize vocabulary size
 * @param maxSeqLen the longest context the model supports
 * @param ropeTheta RoPE base frequency
 * @param normEps RMSNorm epsilon
 * @param ropeStyle how RoPE pairs dimensions (llama2.c: interleaved; Hugging Face: halves)
 * @param tiedEmbeddings whether the output head is the token embedding matrix
 * @param ropeScaling Llama-3 style frequency scaling, or null
 */
public record LlamaConfig(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize,
        int maxSeqLen, double ropeTheta, double normEps, RopeStyle ropeStyle, boolean tiedEmbeddings,
        RopeScaling ropeScaling) {

    /** Llama-3 "llama3" rope_scaling parameters. */
    public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor,
            int originalMaxPositionEmbeddings) {}

    public int headDim() {
        return dim / nHeads;
    }

    public int kvDim() {
        return headDim() * nKvHeads;
    }

    /** Validates internal consistency; {@code source} names the file in the error. */
    public LlamaConfig validate(Object source) {
        if (dim <= 0 || hiddenDim <= 0 || nLayers <= 0 || nHeads <= 0 || nKvHeads <= 0 || vocabSize <= 0
                || maxSeqLen <= 0) {
            throw dev.jvq.JvqException.badFile(source, "non-positive model dimension in " + this);
        }
        if (dim % nHeads != 0 || nHeads % nKvHeads != 0 || headDim() % 2 != 0) {
            throw dev.jvq.JvqException.badFile(source, "inconsistent heads: dim " + dim + ", heads " + nHeads
                    + ", kv heads " + nKvHeads);
        }
        return this;
    }
}
