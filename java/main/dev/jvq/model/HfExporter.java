package dev.jvq.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.backend.RopeStyle;
import dev.jvq.io.AtomicFiles;
import dev.jvq.runtime.DenseLinear;
import dev.jvq.runtime.Linear;
import dev.jvq.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes a model with dense weights as a Hugging Face model directory: config.json,
 * model.safetensors (the checkpoint's dtype, HF tensor names) and, for a llama2.c vocabulary,
 * tokenizer.json + tokenizer_config.json ({@link HfTokenizerExport}).
 *
 * <p>llama2.c and Meta checkpoints rotate adjacent pairs (2i, 2i+1) of each head; Hugging Face's
 * Llama rotates the halves (i, i + headDim/2). The two agree once the rows of Wq and Wk are
 * permuted within each head so that output row (half j, pair i) is input row (pair i, member j):
 * the permutation Hugging Face's own conversion script applies to Meta weights. Nothing else
 * changes, so the exported directory computes the same logits.
 */
public final class HfExporter {
    private HfExporter() {}

    /** Exports {@code model} (and {@code tokenizer}, if not null) into {@code outDir}, created if needed. */
    public static void export(LlamaModel model, Llama2cTokenizer tokenizer, Path outDir) {
        LlamaConfig c = model.config();
        if (tokenizer != null && tokenizer.vocabSize() != c.vocabSize()) {
            throw JvqException.badFile(tokenizer.source(), "has " + tokenizer.vocabSize()
                    + " tokens but the model has a vocabulary of " + c.vocabSize());
        }
        try {
            Files.createDirectories(outDir);
        } catch (IOException e) {
            throw JvqException.badFile(outDir, "cannot create directory: " + e.getMessage());
        }
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsWriter.write(outDir.resolve(SafetensorsCheckpoint.SINGLE_FILE), tensors(model, arena),
                    Map.of("format", "pt"));
        }
        writeJson(outDir.resolve(HfConfig.FILE), config(c, model.embedding().dtype(), tokenizer));
        if (tokenizer != null) {
            writeJson(outDir.resolve(HfTokenizer.FILE), HfTokenizerExport.tokenizerJson(tokenizer));
            writeJson(outDir.resolve(HfTokenizer.CONFIG_FILE), HfTokenizerExport.tokenizerConfig(c.maxSeqLen()));
        }
    }

    static List<Tensor> tensors(LlamaModel model, Arena arena) {
        LlamaConfig c = model.config();
        boolean permute = c.ropeStyle() == RopeStyle.INTERLEAVED;
        List<Tensor> out = new ArrayList<>();
        out.add(renamed(model.embedding(), HfModelDirectory.EMBEDDING));
        for (int l = 0; l < c.nLayers(); l++) {
            out.add(renamed(model.attnNorm(l), HfModelDirectory.attnNorm(l)));
            for (LinearKind k : LinearKind.values()) {
                Tensor w = renamed(dense(model, model.linear(l, k), l + " " + k), HfModelDirectory.linear(l, k));
                if (permute && k == LinearKind.Q) {
                    w = halvesFromInterleaved(w, c.nHeads(), c.headDim(), arena);
                } else if (permute && k == LinearKind.K) {
                    w = halvesFromInterleaved(w, c.nKvHeads(), c.headDim(), arena);
                }
                out.add(w);
            }
            out.add(renamed(model.ffnNorm(l), HfModelDirectory.ffnNorm(l)));
        }
        out.add(renamed(model.finalNorm(), HfModelDirectory.FINAL_NORM));
        if (!c.tiedEmbeddings()) {
            out.add(renamed(dense(model, model.head(), "head"), HfModelDirectory.HEAD));
        }
        return out;
    }

    private static Tensor dense(LlamaModel model, Linear linear, String which) {
        if (!(linear instanceof DenseLinear d)) {
            throw new JvqException(model.source() + ": layer " + which + " is not dense (" + linear.getClass().getSimpleName()
                    + "); only dense models can be exported");
        }
        return d.weight();
    }

    private static Tensor renamed(Tensor t, String name) {
        return new Tensor(name, t.dtype(), t.shape(), t.data());
    }

    /**
     * Reorders the rows of a [heads·headDim, cols] projection within each head: output row
     * h·d + j·d/2 + i takes input row h·d + 2i + j (i < d/2, j ∈ {0, 1}).
     */
    static Tensor halvesFromInterleaved(Tensor w, int heads, int headDim, Arena arena) {
        long rowBytes = w.dim(1) * w.dtype().bytes;
        MemorySegment src = w.data();
        MemorySegment dst = arena.allocate(src.byteSize(), 64);
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                for (int j = 0; j < 2; j++) {
                    long from = (long) h * headDim + 2L * i + j;
                    long to = (long) h * headDim + (long) j * half + i;
                    MemorySegment.copy(src, from * rowBytes, dst, to * rowBytes, rowBytes);
                }
            }
        }
        return new Tensor(w.name(), w.dtype(), w.shape(), dst);
    }

    static ObjectNode config(LlamaConfig c, dev.jvq.tensor.DType dtype, Tokenizer tokenizer) {
        ObjectNode n = HfJson.MAPPER.createObjectNode();
        n.putArray("architectures").add("LlamaForCausalLM");
        n.put("model_type", "llama");
        n.put("hidden_act", "silu");
        n.put("hidden_size", c.dim());
        n.put("intermediate_size", c.hiddenDim());
        n.put("num_hidden_layers", c.nLayers());
        n.put("num_attention_heads", c.nHeads());
        n.put("num_key_value_heads", c.nKvHeads());
        n.put("head_dim", c.headDim());
        n.put("vocab_size", c.vocabSize());
        n.put("max_position_embeddings", c.maxSeqLen());
        n.put("rms_norm_eps", c.normEps());
        n.put("rope_theta", c.ropeTheta());
        if (c.ropeScaling() == null) {
            n.putNull("rope_scaling");
        } else {
            ObjectNode rs = n.putObject("rope_scaling");
            rs.put("rope_type", "llama3");
            rs.put("factor", c.ropeScaling().factor());
            rs.put("low_freq_factor", c.ropeScaling().lowFreqFactor());
            rs.put("high_freq_factor", c.ropeScaling().highFreqFactor());
            rs.put("original_max_position_embeddings", c.ropeScaling().originalMaxPositionEmbeddings());
        }
        n.put("tie_word_embeddings", c.tiedEmbeddings());
        n.put("attention_bias", false);
        n.put("mlp_bias", false);
        if (tokenizer != null) {
            n.put("bos_token_id", tokenizer.bosId());
            n.put("eos_token_id", tokenizer.eosId());
        }
        n.put("torch_dtype", switch (dtype) {
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> "float32";
        });
        return n;
    }

    static void writeJson(Path file, ObjectNode node) {
        try {
            AtomicFiles.write(file, HfJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(node)
                    .getBytes(StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise " + file, e);
        }
    }
}
