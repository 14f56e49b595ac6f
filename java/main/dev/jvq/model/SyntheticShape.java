package dev.jvq.model;

import dev.jvq.backend.RopeStyle;
import java.util.Arrays;
import java.util.stream.Collectors;

/** Shapes of public models, for benchmarks on {@link LlamaModel#synthetic synthetic} weights. */
public enum SyntheticShape {
    /** HuggingFaceTB/SmolLM2-135M (config.json: 576 wide, 30 layers, 9/3 heads, tied embeddings). */
    SMOLLM2_135M("smollm2-135m", new LlamaConfig(576, 1536, 30, 9, 3, 49152, 8192, 100000.0, 1e-5,
            RopeStyle.HALVES, true, null)),
    /** HuggingFaceTB/SmolLM2-1.7B (2048 wide, 24 layers, 32 heads, no GQA, tied embeddings). */
    SMOLLM2_1_7B("smollm2-1.7b", new LlamaConfig(2048, 8192, 24, 32, 32, 49152, 8192, 130000.0, 1e-5,
            RopeStyle.HALVES, true, null));

    public final String id;
    public final LlamaConfig config;

    SyntheticShape(String id, LlamaConfig config) {
        this.id = id;
        this.config = config;
    }

    public static SyntheticShape byId(String id) {
        for (SyntheticShape s : values()) {
            if (s.id.equalsIgnoreCase(id)) {
                return s;
            }
        }
        throw new dev.jvq.JvqException("--synthetic " + id + ": unknown shape; choose one of "
                + Arrays.stream(values()).map(s -> s.id).collect(Collectors.joining(", ")));
    }
}
