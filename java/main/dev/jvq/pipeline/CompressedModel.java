package dev.jvq.pipeline;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.format.JvqContents;
import dev.jvq.format.JvqFile;
import dev.jvq.format.JvqReader;
import dev.jvq.format.JvqWriter;
import dev.jvq.format.TensorRole;
import dev.jvq.model.LinearKind;
import dev.jvq.model.LlamaConfig;
import dev.jvq.model.LlamaModel;
import dev.jvq.model.Tokenizer;
import dev.jvq.quant.QuantizedLayer;
import dev.jvq.runtime.DenseLinear;
import dev.jvq.runtime.Linear;
import dev.jvq.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A {@link LlamaModel} (some or all of whose linears are quantised) saved as, and loaded from, a
 * .jvq file (format/FORMAT.md). Names inside the file: {@code embedding}, {@code head} (when not
 * tied), {@code final_norm}, {@code layers.L.attn_norm}, {@code layers.L.ffn_norm} and the linears
 * {@code layers.L.q|k|v|o|gate|up|down} — quantised layers by that name, unquantised ones as dense
 * tensors of role {@code linear}. The metadata object carries the model config under "config".
 */
public final class CompressedModel {
    private CompressedModel() {}

    public static String linearName(int layer, LinearKind kind) {
        return "layers." + layer + "." + kind.name().toLowerCase(Locale.ROOT);
    }

    /**
     * Writes {@code model} to {@code out} (temp file + atomic rename).
     *
     * @param tokenizer the model's tokenizer, stored opaque
     * @param metadata extra metadata (method, parameters, calibration); "config" is added here
     */
    public static void save(Path out, LlamaModel model, StoredTokenizer tokenizer, ObjectNode metadata) {
        byte[] tokenizerBytes = tokenizer.bytes();
        LlamaConfig c = model.config();
        ObjectNode meta = metadata.deepCopy();
        meta.set("config", ConfigJson.write(c));
        try (JvqWriter w = JvqWriter.open(out); Arena tmp = Arena.ofConfined()) {
            w.metadata(meta);
            MemorySegment tok = tmp.allocate(tokenizerBytes.length);
            MemorySegment.copy(tokenizerBytes, 0, tok, ValueLayout.JAVA_BYTE, 0, tokenizerBytes.length);
            w.tokenizer(tokenizer.kind(), tok);
            w.tensor(renamed(model.embedding(), "embedding"),
                    c.tiedEmbeddings() ? TensorRole.EMBEDDING_AND_HEAD : TensorRole.EMBEDDING);
            if (!c.tiedEmbeddings()) {
                if (!(model.head() instanceof DenseLinear head)) {
                    throw new IllegalStateException("the output head stays 16-bit; it cannot be " + model.head());
                }
                w.tensor(renamed(head.weight(), "head"), TensorRole.HEAD);
            }
            w.tensor(renamed(model.finalNorm(), "final_norm"), TensorRole.NORM);
            for (int l = 0; l < c.nLayers(); l++) {
                w.tensor(renamed(model.attnNorm(l), "layers." + l + ".attn_norm"), TensorRole.NORM);
                w.tensor(renamed(model.ffnNorm(l), "layers." + l + ".ffn_norm"), TensorRole.NORM);
                for (LinearKind k : LinearKind.values()) {
                    Linear lin = model.linear(l, k);
                    String name = linearName(l, k);
                    switch (lin) {
                        case QuantizedLayer q -> {
                            if (!q.name().equals(name)) {
                                throw new IllegalStateException("layer " + name + " is named " + q.name());
                            }
                            w.layer(q);
                        }
                        case DenseLinear d -> w.tensor(renamed(d.weight(), name), TensorRole.LINEAR);
                        default -> throw new IllegalStateException(name + ": cannot store " + lin);
                    }
                }
            }
            w.commit();
        }
    }

    private static Tensor renamed(Tensor t, String name) {
        return new Tensor(name, t.dtype(), t.shape(), t.data());
    }

    /** A loaded .jvq: the model (owning the file mapping) and its tokenizer. */
    public record Loaded(LlamaModel model, Tokenizer tokenizer, JvqFile file) {}

    /** Opens and validates {@code path} and builds the model on the mapped sections (no dense copies). */
    public static Loaded load(Path path) {
        JvqFile f = JvqReader.open(path);
        try {
            JvqContents k = f.contents();
            LlamaConfig c = ConfigJson.read(path, k.metadata().get("config"));
            Tokenizer tok = tokenizer(path, k);
            Tensor embedding = require(path, k, "embedding");
            Tensor[] attn = new Tensor[c.nLayers()];
            Tensor[] ffn = new Tensor[c.nLayers()];
            Linear[][] linears = new Linear[c.nLayers()][LinearKind.values().length];
            for (int l = 0; l < c.nLayers(); l++) {
                attn[l] = require(path, k, "layers." + l + ".attn_norm");
                ffn[l] = require(path, k, "layers." + l + ".ffn_norm");
                for (LinearKind kind : LinearKind.values()) {
                    String name = linearName(l, kind);
                    QuantizedLayer q = k.layer(name);
                    Linear lin = q != null ? q : new DenseLinear(require(path, k, name));
                    if (lin.rows() != kind.rows(c) || lin.cols() != kind.cols(c)) {
                        throw JvqException.badFile(path, "layer " + name + " is " + lin.rows() + "x" + lin.cols()
                                + ", the config says " + kind.rows(c) + "x" + kind.cols(c));
                    }
                    linears[l][kind.ordinal()] = lin;
                }
            }
            Linear head = new DenseLinear(c.tiedEmbeddings() ? embedding : require(path, k, "head"));
            LlamaModel m;
            try {
                m = new LlamaModel(path.toString(), c, embedding, attn, ffn, linears,
                        require(path, k, "final_norm"), head, f);
            } catch (IllegalArgumentException e) {
                throw JvqException.badFile(path, e.getMessage());
            }
            if (tok.vocabSize() != c.vocabSize()) {
                throw JvqException.badFile(path, "tokenizer has " + tok.vocabSize() + " tokens, the model "
                        + c.vocabSize());
            }
            return new Loaded(m, tok, f);
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    private static Tensor require(Path path, JvqContents k, String name) {
        Tensor t = k.tensor(name);
        if (t == null) {
            throw JvqException.badFile(path, "missing tensor '" + name + "'");
        }
        return t;
    }

    /** The tokenizer stored in a .jvq file. */
    public static Tokenizer readTokenizer(Path path) {
        try (JvqFile f = JvqReader.open(path)) {
            return tokenizer(path, f.contents());
        }
    }

    private static Tokenizer tokenizer(Path path, JvqContents k) {
        if (k.tokenizer() == null) {
            throw JvqException.badFile(path, "holds no tokenizer");
        }
        byte[] bytes = k.tokenizer().bytes().toArray(ValueLayout.JAVA_BYTE);
        return new StoredTokenizer(k.tokenizer().kind(), bytes).restore(path);
    }
}
