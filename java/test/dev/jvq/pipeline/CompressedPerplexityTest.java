package dev.jvq.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.backend.CpuBackend;
import dev.jvq.model.Fixtures;
import dev.jvq.model.LinearKind;
import dev.jvq.model.Llama2cCheckpoint;
import dev.jvq.model.Llama2cTokenizer;
import dev.jvq.model.LlamaModel;
import dev.jvq.quant.CodebookScope;
import dev.jvq.quant.QuantMethod;
import dev.jvq.quant.QuantizedLayer;
import dev.jvq.quant.RtnLinear;
import dev.jvq.quant.VqLinear;
import dev.jvq.runtime.DenseLinear;
import dev.jvq.runtime.Linear;
import dev.jvq.runtime.Perplexity;
import dev.jvq.runtime.Transformer;
import dev.jvq.tensor.DType;
import dev.jvq.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Evaluating a model from its compressed form gives the perplexity of its dequantised weights
 * (ISSUE: within 1e-5 relative). The compressed layers run their own kernels — the fused GEMV
 * (jvq_vq_gemv, jvq_rtn_gemv) on the decode path, the tiled dequantise-and-GEMM in a whole-window
 * pass — and the reference runs the same model with every quantised layer replaced by a dense f32
 * matrix reconstructed in Java. Both paths are checked: {@link Perplexity#evaluate} (GEMM) and a
 * token-by-token decode of the same windows (GEMV).
 */
class CompressedPerplexityTest {
    private static final int SEQ_LEN = 128;
    private static final Perplexity.Options WINDOWS = new Perplexity.Options(SEQ_LEN, true, 2, 4);

    @ParameterizedTest
    @ValueSource(strings = {"hasvq-mid:iters=2", "rtn4-row"})
    void compressedEvaluationMatchesDequantisedDenseWeights(String method) throws IOException {
        Llama2cTokenizer tok = Llama2cTokenizer.load(Fixtures.tokenizer());
        int[] tokens = tok.encode(Files.readString(Fixtures.tinyStories()));
        List<int[]> windows = Perplexity.windows(tokens, WINDOWS, tok.bosId());
        assertEquals(4, windows.size());
        try (LlamaModel m = Llama2cCheckpoint.load(Fixtures.model()); CpuBackend cpu = new CpuBackend()) {
            double original = windowPpl(m, cpu, tokens, tok.bosId());

            Arena arena = Arena.ofShared();
            m.attach(arena);
            ModelQuantizer.quantize(m, QuantMethod.parse(method), CodebookScope.MATRIX, null, cpu, arena, s -> { });
            int layers = m.config().nLayers();
            Linear[][] compressed = new Linear[layers][];
            Linear[][] dequantised = new Linear[layers][];
            for (int l = 0; l < layers; l++) {
                compressed[l] = new Linear[LinearKind.values().length];
                dequantised[l] = new Linear[LinearKind.values().length];
                for (LinearKind k : LinearKind.values()) {
                    Linear q = m.linear(l, k);
                    Class<? extends QuantizedLayer> expected = method.startsWith("rtn") ? RtnLinear.class : VqLinear.class;
                    assertTrue(expected.isInstance(q), q + " should be a " + expected.getSimpleName());
                    compressed[l][k.ordinal()] = q;
                    dequantised[l][k.ordinal()] = dense((QuantizedLayer) q, arena);
                }
            }

            double fromCodesGemm = windowPpl(m, cpu, tokens, tok.bosId());
            double fromCodesGemv = decodedPpl(m, cpu, windows);
            install(m, dequantised);
            double denseGemm = windowPpl(m, cpu, tokens, tok.bosId());
            double denseGemv = decodedPpl(m, cpu, windows);
            install(m, compressed);

            String what = method + ": original " + original + ", codes gemm " + fromCodesGemm + " gemv " + fromCodesGemv
                    + ", dequantised gemm " + denseGemm + " gemv " + denseGemv;
            assertEquals(denseGemm, fromCodesGemm, 1e-5 * denseGemm, what);
            assertEquals(denseGemv, fromCodesGemv, 1e-5 * denseGemv, what);
            // The comparison means something only if quantisation changed the model.
            assertTrue(Math.abs(fromCodesGemm - original) > 1e-3 * original, what);
        }
    }

    /** The paper's perplexity of the windows, each window run as one block (GEMM). */
    private static double windowPpl(LlamaModel m, CpuBackend cpu, int[] tokens, int bos) {
        try (Transformer t = new Transformer(m, cpu, SEQ_LEN, SEQ_LEN)) {
            return Perplexity.evaluate(t, tokens, WINDOWS, bos, null).ppl();
        }
    }

    private static void install(LlamaModel m, Linear[][] linears) {
        for (int l = 0; l < linears.length; l++) {
            for (LinearKind k : LinearKind.values()) {
                m.setLinear(l, k, linears[l][k.ordinal()]);
            }
        }
    }

    /** The layer's weights reconstructed by the Java reference dequantiser, as a dense f32 matrix. */
    private static DenseLinear dense(QuantizedLayer q, Arena arena) {
        long rows = q.rows(), cols = q.cols();
        MemorySegment w = arena.allocate(rows * cols * 4, 64);
        switch (q) {
            case VqLinear v -> {
                float[] f = v.dequantizeInJava();
                MemorySegment.copy(f, 0, w, ValueLayout.JAVA_FLOAT, 0, f.length);
            }
            case RtnLinear r -> r.dequantizeRows(w, 0, rows);
            default -> throw new IllegalArgumentException("unexpected layer " + q);
        }
        return new DenseLinear(new Tensor(q.name(), DType.F32, new long[] {rows, cols}, w));
    }

    /** The paper's perplexity of the windows, every prediction made by a single-token (GEMV) decode step. */
    private static double decodedPpl(LlamaModel m, CpuBackend cpu, List<int[]> windows) {
        int vocab = m.config().vocabSize();
        double meanLoss = 0;
        try (Transformer t = new Transformer(m, cpu, SEQ_LEN, 1)) {
            for (int[] w : windows) {
                double nll = 0;
                for (int p = 0; p < w.length - 1; p++) {
                    nll += rowNll(t.decode(w[p], p), vocab, w[p + 1]);
                }
                meanLoss += nll / (w.length - 1);
            }
        }
        return Math.exp(meanLoss / windows.size());
    }

    private static double rowNll(MemorySegment logits, int vocab, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < vocab; j++) {
            max = Math.max(max, logits.getAtIndex(ValueLayout.JAVA_FLOAT, j));
        }
        double sum = 0;
        for (int j = 0; j < vocab; j++) {
            sum += Math.exp(logits.getAtIndex(ValueLayout.JAVA_FLOAT, j) - max);
        }
        return Math.log(sum) + max - logits.getAtIndex(ValueLayout.JAVA_FLOAT, target);
    }
}
