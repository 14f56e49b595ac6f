package dev.jvq.model;

import dev.jvq.JvqException;
import dev.jvq.runtime.DenseLinear;
import dev.jvq.runtime.Linear;
import dev.jvq.tensor.DType;
import dev.jvq.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A Hugging Face model directory of the Llama family: {@code config.json}, the weights as
 * {@code model.safetensors} or shards with {@code model.safetensors.index.json}, and
 * {@code tokenizer.json}. Weights keep the checkpoint's dtype (f32, f16 or bf16) and stay in the
 * memory mapping; only the small RMSNorm vectors are widened to f32 when stored narrower, because
 * the runtime reads norms as f32.
 */
public final class HfModelDirectory {
    private HfModelDirectory() {}

    /** Tensor names of the Hugging Face Llama implementation. */
    static final String EMBEDDING = "model.embed_tokens.weight";
    static final String FINAL_NORM = "model.norm.weight";
    static final String HEAD = "lm_head.weight";

    static String layerPrefix(int layer) {
        return "model.layers." + layer + ".";
    }

    static String attnNorm(int layer) {
        return layerPrefix(layer) + "input_layernorm.weight";
    }

    static String ffnNorm(int layer) {
        return layerPrefix(layer) + "post_attention_layernorm.weight";
    }

    static String linear(int layer, LinearKind kind) {
        return layerPrefix(layer) + switch (kind) {
            case Q -> "self_attn.q_proj.weight";
            case K -> "self_attn.k_proj.weight";
            case V -> "self_attn.v_proj.weight";
            case O -> "self_attn.o_proj.weight";
            case GATE -> "mlp.gate_proj.weight";
            case UP -> "mlp.up_proj.weight";
            case DOWN -> "mlp.down_proj.weight";
        };
    }

    /** Whether {@code path} looks like a Hugging Face model directory (a directory with config.json). */
    public static boolean isModelDirectory(Path path) {
        return Files.isDirectory(path) && Files.isRegularFile(path.resolve(HfConfig.FILE));
    }

    /** Loads the model of a directory; the returned model owns the mappings. */
    public static LlamaModel loadModel(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw JvqException.badFile(dir, Files.exists(dir) ? "not a directory (a Hugging Face model is a directory"
                    + " with config.json, *.safetensors and tokenizer.json)" : "no such directory");
        }
        HfConfig config = HfConfig.read(dir.resolve(HfConfig.FILE));
        SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(dir);
        try {
            return build(dir, config.llama(), ck);
        } catch (RuntimeException | Error e) {
            ck.close();
            throw e;
        }
    }

    /** Loads the directory's tokenizer.json (with tokenizer_config.json and config.json for BOS/EOS). */
    public static HfTokenizer loadTokenizer(Path dir) {
        return HfTokenizer.load(dir.resolve(HfTokenizer.FILE));
    }

    private static LlamaModel build(Path dir, LlamaConfig c, SafetensorsCheckpoint ck) {
        Arena norms = Arena.ofShared();
        try {
            Tensor embedding = weight(dir, ck, EMBEDDING, c.vocabSize(), c.dim());
            int n = c.nLayers();
            Tensor[] attn = new Tensor[n];
            Tensor[] ffn = new Tensor[n];
            Linear[][] linears = new Linear[n][LinearKind.values().length];
            for (int l = 0; l < n; l++) {
                attn[l] = norm(dir, ck, attnNorm(l), c.dim(), norms);
                ffn[l] = norm(dir, ck, ffnNorm(l), c.dim(), norms);
                for (LinearKind k : LinearKind.values()) {
                    linears[l][k.ordinal()] = new DenseLinear(weight(dir, ck, linear(l, k), k.rows(c), k.cols(c)));
                }
            }
            Tensor finalNorm = norm(dir, ck, FINAL_NORM, c.dim(), norms);
            // With tied embeddings the reference implementation ignores any lm_head.weight stored.
            Linear head = new DenseLinear(c.tiedEmbeddings() ? embedding : weight(dir, ck, HEAD, c.vocabSize(), c.dim()));
            AutoCloseable owner = () -> {
                try {
                    ck.close();
                } finally {
                    norms.close();
                }
            };
            return new LlamaModel(dir.toString(), c, embedding, attn, ffn, linears, finalNorm, head, owner);
        } catch (RuntimeException | Error e) {
            norms.close();
            throw e;
        }
    }

    private static Tensor tensor(Path dir, SafetensorsCheckpoint ck, String name) {
        if (!ck.contains(name)) {
            throw JvqException.badFile(dir, "missing tensor '" + name + "'");
        }
        Tensor t = ck.tensor(name);
        if (t.dtype().nativeCode < 0) {
            throw JvqException.badFile(dir, "tensor '" + name + "' is " + t.dtype() + "; weights must be F32, F16 or BF16");
        }
        return t;
    }

    private static Tensor weight(Path dir, SafetensorsCheckpoint ck, String name, long rows, long cols) {
        Tensor t = tensor(dir, ck, name);
        if (t.rank() != 2 || t.dim(0) != rows || t.dim(1) != cols) {
            throw JvqException.badFile(dir, "tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                    + ", config.json implies [" + rows + ", " + cols + "]");
        }
        return t;
    }

    /** A norm weight as f32: the mapped tensor itself, or a widened copy of an f16/bf16 one. */
    private static Tensor norm(Path dir, SafetensorsCheckpoint ck, String name, int dim, Arena arena) {
        Tensor t = tensor(dir, ck, name);
        if (t.rank() != 1 || t.dim(0) != dim) {
            throw JvqException.badFile(dir, "tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                    + ", config.json implies [" + dim + "]");
        }
        if (t.dtype() == DType.F32) {
            return t;
        }
        MemorySegment f32 = arena.allocate(4L * dim, 64);
        ValueLayout.OfShort u16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        ValueLayout.OfFloat out = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < dim; i++) {
            short bits = t.data().getAtIndex(u16, i);
            float v = t.dtype() == DType.BF16 ? Float.intBitsToFloat((bits & 0xffff) << 16) : Float.float16ToFloat(bits);
            f32.setAtIndex(out, i, v);
        }
        return new Tensor(name, DType.F32, new long[] {dim}, f32);
    }
}
