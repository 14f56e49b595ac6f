package dev.jvq.backend;

/** How rotary embeddings pair the dimensions of a head (native code: JVQ_ROPE_*). */
public enum RopeStyle {
    /** llama2.c and Meta checkpoints: pairs (2i, 2i+1). */
    INTERLEAVED(0),
    /** Hugging Face checkpoints: pairs (i, i + headDim/2). */
    HALVES(1);

    public final int nativeCode;

    RopeStyle(int nativeCode) {
        this.nativeCode = nativeCode;
    }
}
