package dev.jvq.model;

import dev.jvq.runtime.DenseLinear;
import dev.jvq.runtime.Linear;
import dev.jvq.tensor.DType;
import dev.jvq.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The weights of a Llama-family model: token embedding, per-layer RMSNorm weights and seven
 * {@link Linear} layers, final norm and output head. The linear layers are replaceable slots
 * ({@link #setLinear}), so a quantiser swaps dense layers for compressed ones in place and the
 * forward pass never knows how a layer is stored.
 *
 * <p>The model owns the memory its tensors live in (a mapped checkpoint or synthetic weights) and
 * any resources {@link #attach attached} to it (for example the storage of quantised layers);
 * {@link #close()} releases all of it.
 */
public final class LlamaModel implements AutoCloseable {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final String source;
    private final LlamaConfig config;
    private final Tensor embedding;
    private final Tensor[] attnNorm;
    private final Tensor[] ffnNorm;
    private final Linear[][] linears;
    private final Tensor finalNorm;
    private Linear head;
    private final List<AutoCloseable> owned = new ArrayList<>();
    private boolean closed;

    /**
     * @param source where the weights came from (a path, or a description), used in messages
     * @param embedding [vocab x dim], f32, f16 or bf16
     * @param attnNorm per layer, f32 [dim]
     * @param ffnNorm per layer, f32 [dim]
     * @param linears [layer][{@link LinearKind#ordinal()}]
     * @param finalNorm f32 [dim]
     * @param head [vocab x dim]; for tied embeddings pass {@code new DenseLinear(embedding)}
     * @param owner the memory the tensors live in, closed with the model (may be null)
     */
    public LlamaModel(String source, LlamaConfig config, Tensor embedding, Tensor[] attnNorm, Tensor[] ffnNorm,
            Linear[][] linears, Tensor finalNorm, Linear head, AutoCloseable owner) {
        this.source = source;
        this.config = config;
        int n = config.nLayers();
        if (attnNorm.length != n || ffnNorm.length != n || linears.length != n) {
            throw new IllegalArgumentException(source + ": expected " + n + " layers");
        }
        checkShape(embedding, config.vocabSize(), config.dim());
        if (embedding.dtype().nativeCode < 0) {
            throw new IllegalArgumentException(source + ": embedding must be f32, f16 or bf16, not " + embedding.dtype());
        }
        for (int l = 0; l < n; l++) {
            checkNorm(attnNorm[l]);
            checkNorm(ffnNorm[l]);
            if (linears[l].length != LinearKind.values().length) {
                throw new IllegalArgumentException(source + ": layer " + l + " needs 7 linear layers");
            }
        }
        checkNorm(finalNorm);
        this.embedding = embedding;
        this.attnNorm = attnNorm.clone();
        this.ffnNorm = ffnNorm.clone();
        this.linears = new Linear[n][];
        for (int l = 0; l < n; l++) {
            this.linears[l] = new Linear[LinearKind.values().length];
            for (LinearKind k : LinearKind.values()) {
                setLinear(l, k, linears[l][k.ordinal()]);
            }
        }
        this.finalNorm = finalNorm;
        setHead(head);
        if (owner != null) {
            owned.add(owner);
        }
    }

    private void checkShape(Tensor t, long rows, long cols) {
        if (t.rank() != 2 || t.dim(0) != rows || t.dim(1) != cols) {
            throw new IllegalArgumentException(source + ": " + t + " should be [" + rows + ", " + cols + "]");
        }
    }

    private void checkNorm(Tensor t) {
        if (t.dtype() != DType.F32 || t.elements() != config.dim()) {
            throw new IllegalArgumentException(source + ": norm weight " + t + " should be F32[" + config.dim() + "]");
        }
    }

    public String source() {
        return source;
    }

    public LlamaConfig config() {
        return config;
    }

    public Tensor embedding() {
        return embedding;
    }

    public Tensor attnNorm(int layer) {
        return attnNorm[layer];
    }

    public Tensor ffnNorm(int layer) {
        return ffnNorm[layer];
    }

    public Tensor finalNorm() {
        return finalNorm;
    }

    public Linear linear(int layer, LinearKind kind) {
        return linears[layer][kind.ordinal()];
    }

    /** Replaces one linear layer (for example by its quantised version); the shape must match. */
    public void setLinear(int layer, LinearKind kind, Linear linear) {
        long rows = kind.rows(config);
        long cols = kind.cols(config);
        if (linear.rows() != rows || linear.cols() != cols) {
            throw new IllegalArgumentException(source + ": layer " + layer + " " + kind + " must be " + rows + " x "
                    + cols + ", got " + linear.rows() + " x " + linear.cols());
        }
        linears[layer][kind.ordinal()] = linear;
    }

    /** The output head ([vocab x dim]); the embedding matrix itself when tied. */
    public Linear head() {
        return head;
    }

    public void setHead(Linear head) {
        if (head.rows() != config.vocabSize() || head.cols() != config.dim()) {
            throw new IllegalArgumentException(source + ": head must be " + config.vocabSize() + " x " + config.dim()
                    + ", got " + head.rows() + " x " + head.cols());
        }
        this.head = head;
    }

    /** Ties a resource (memory of replaced layers, say) to the model's lifetime. */
    public void attach(AutoCloseable resource) {
        owned.add(resource);
    }

    /** Writes the f32 embedding row of {@code token} into {@code dst} at byte offset {@code offset}. */
    public void embed(int token, MemorySegment dst, long offset) {
        if (token < 0 || token >= config.vocabSize()) {
            throw new IllegalArgumentException("token id " + token + " outside the vocabulary of " + config.vocabSize());
        }
        int dim = config.dim();
        MemorySegment w = embedding.data();
        long row = (long) token * dim;
        switch (embedding.dtype()) {
            case F32 -> MemorySegment.copy(w, row * 4, dst, offset, dim * 4L);
            case BF16 -> {
                for (int i = 0; i < dim; i++) {
                    int bits = w.getAtIndex(U16, row + i) & 0xffff;
                    dst.set(F32, offset + 4L * i, Float.intBitsToFloat(bits << 16));
                }
            }
            case F16 -> {
                for (int i = 0; i < dim; i++) {
                    dst.set(F32, offset + 4L * i, Float.float16ToFloat(w.getAtIndex(U16, row + i)));
                }
            }
            default -> throw new IllegalStateException("embedding dtype " + embedding.dtype());
        }
    }

    /** Bytes of weight storage: embedding, norms, every linear layer, and the head when not tied. */
    public long weightBytes() {
        long bytes = embedding.data().byteSize() + finalNorm.data().byteSize();
        for (int l = 0; l < config.nLayers(); l++) {
            bytes += attnNorm[l].data().byteSize() + ffnNorm[l].data().byteSize();
            for (Linear lin : linears[l]) {
                bytes += lin.storageBytes();
            }
        }
        if (!(head instanceof DenseLinear d && d.weight().data().equals(embedding.data()))) {
            bytes += head.storageBytes();
        }
        return bytes;
    }

    /** Number of weights (embedding, norms, linears, untied head), independent of storage. */
    public long parameterCount() {
        long n = (long) config.vocabSize() * config.dim() * (config.tiedEmbeddings() ? 1 : 2);
        n += (long) config.dim() * (2L * config.nLayers() + 1);
        for (LinearKind k : LinearKind.values()) {
            n += k.rows(config) * k.cols(config) * config.nLayers();
        }
        return n;
    }

    /**
     * A model of the given shape with random weights (uniform, scaled by 1/sqrt(fan-in) so that
     * activations stay O(1)), for benchmarks and tests that need real shapes but no checkpoint.
     * Linear layers and the embedding use {@code dtype}; norms are f32. Deterministic in {@code seed}.
     */
    public static LlamaModel synthetic(LlamaConfig config, DType dtype, long seed) {
        return SyntheticWeights.build(config.validate("synthetic model"), dtype, seed);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        RuntimeException failure = null;
        for (int i = owned.size() - 1; i >= 0; i--) {
            try {
                owned.get(i).close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = new IllegalStateException(source + ": closing model memory failed", e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public String toString() {
        return "LlamaModel(" + source + ", " + config + ")";
    }
}
