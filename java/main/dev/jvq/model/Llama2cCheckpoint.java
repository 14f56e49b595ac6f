package dev.jvq.model;

import dev.jvq.JvqException;
import dev.jvq.backend.RopeStyle;
import dev.jvq.runtime.DenseLinear;
import dev.jvq.runtime.Linear;
import dev.jvq.tensor.DType;
import dev.jvq.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reader of llama2.c "legacy" (version-0) fp32 checkpoints: seven int32 header fields
 * (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len) followed by float32
 * arrays in a fixed order; a negative vocab_size means a separate classifier follows at the end.
 * The file is memory-mapped once and every tensor is a slice of the mapping (no heap copy).
 */
public final class Llama2cCheckpoint {
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final int HEADER_BYTES = 7 * 4;
    /** "ak42" little-endian: the magic of llama2.c's newer (version 1/2) exports. */
    private static final int VERSIONED_MAGIC = 0x616b3432;
    /** Guards against nonsense headers before any size arithmetic. */
    private static final int MAX_DIM = 1 << 20;
    private static final int MAX_LAYERS = 4096;

    private Llama2cCheckpoint() {}

    /** Maps and validates {@code file}; the returned model owns the mapping. */
    public static LlamaModel load(Path file) {
        long size;
        try {
            if (Files.isDirectory(file)) {
                throw JvqException.badFile(file, "is a directory, not a llama2.c checkpoint");
            }
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            throw JvqException.badFile(file, "no such file");
        } catch (IOException e) {
            throw JvqException.badFile(file, "cannot read: " + e.getMessage());
        }
        if (size < HEADER_BYTES) {
            throw JvqException.badFile(file, "truncated: expected at least " + HEADER_BYTES
                    + " bytes (llama2.c header), found " + size);
        }
        Arena arena = Arena.ofShared();
        try {
            MemorySegment map;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            }
            LlamaModel model = parse(file, map, arena);
            return model;
        } catch (IOException e) {
            arena.close();
            throw JvqException.badFile(file, "cannot map: " + e.getMessage());
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private static LlamaModel parse(Path file, MemorySegment map, Arena arena) {
        int[] h = new int[7];
        for (int i = 0; i < 7; i++) {
            h[i] = map.get(I32, 4L * i);
        }
        if (h[0] == VERSIONED_MAGIC) {
            throw JvqException.badFile(file, "a llama2.c version-" + h[1]
                    + " export; only the legacy version-0 fp32 format (export.py --version 0) is supported");
        }
        int dim = h[0];
        int hidden = h[1];
        int layers = h[2];
        int heads = h[3];
        int kvHeads = h[4];
        boolean shared = h[5] > 0;
        int vocab = Math.abs(h[5]);
        int seqLen = h[6];
        String header = "header (dim " + dim + ", hidden " + hidden + ", layers " + layers + ", heads " + heads
                + ", kv heads " + kvHeads + ", vocab " + h[5] + ", seq_len " + seqLen + ")";
        if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || vocab <= 0 || seqLen <= 0
                || h[5] == Integer.MIN_VALUE || dim > MAX_DIM || hidden > MAX_DIM || layers > MAX_LAYERS
                || heads > dim || kvHeads > heads || vocab > 1 << 24 || seqLen > 1 << 24) {
            throw JvqException.badFile(file, "not a llama2.c checkpoint: implausible " + header);
        }
        if (dim % heads != 0 || heads % kvHeads != 0 || (dim / heads) % 2 != 0) {
            throw JvqException.badFile(file, "inconsistent " + header
                    + ": dim must split into heads of even size and heads into kv heads");
        }
        LlamaConfig config = new LlamaConfig(dim, hidden, layers, heads, kvHeads, vocab, seqLen, 10000.0, 1e-5,
                RopeStyle.INTERLEAVED, shared, null).validate(file);
        int headDim = dim / heads;
        int kvDim = headDim * kvHeads;

        // Float counts of the sections, in file order.
        long l = layers;
        long floats = (long) vocab * dim // token_embedding
                + l * dim // rms_att
                + l * dim * dim + 2 * l * kvDim * dim + l * dim * dim // wq, wk, wv, wo
                + l * dim // rms_ffn
                + 3 * l * hidden * dim // w1, w2, w3
                + dim // rms_final
                + (long) seqLen * headDim; // freq_cis_real + freq_cis_imag: 2 x seq_len x headDim/2
        if (!shared) {
            floats += (long) vocab * dim;
        }
        long expected = HEADER_BYTES + 4 * floats;
        if (map.byteSize() < expected) {
            throw JvqException.badFile(file, "truncated: expected " + expected + " bytes for " + header + ", found "
                    + map.byteSize());
        }
        if (map.byteSize() > expected) {
            throw JvqException.badFile(file, "size mismatch: " + header + " implies " + expected + " bytes, found "
                    + map.byteSize());
        }

        Cursor c = new Cursor(map);
        Tensor embedding = c.take("token_embedding", vocab, dim);
        Tensor[] attnNorm = new Tensor[layers];
        for (int i = 0; i < layers; i++) {
            attnNorm[i] = c.take("rms_att." + i, dim);
        }
        Linear[][] lin = new Linear[layers][LinearKind.values().length];
        takeLinears(c, lin, LinearKind.Q, dim, dim);
        takeLinears(c, lin, LinearKind.K, kvDim, dim);
        takeLinears(c, lin, LinearKind.V, kvDim, dim);
        takeLinears(c, lin, LinearKind.O, dim, dim);
        Tensor[] ffnNorm = new Tensor[layers];
        for (int i = 0; i < layers; i++) {
            ffnNorm[i] = c.take("rms_ffn." + i, dim);
        }
        takeLinears(c, lin, LinearKind.GATE, hidden, dim);
        takeLinears(c, lin, LinearKind.DOWN, dim, hidden);
        takeLinears(c, lin, LinearKind.UP, hidden, dim);
        Tensor finalNorm = c.take("rms_final", dim);
        c.skip((long) seqLen * headDim); // legacy RoPE tables: the runtime computes its own frequencies
        Linear head = new DenseLinear(shared ? embedding : c.take("wcls", vocab, dim));
        return new LlamaModel(file.toString(), config, embedding, attnNorm, ffnNorm, lin, finalNorm, head, arena);
    }

    private static void takeLinears(Cursor c, Linear[][] lin, LinearKind kind, int rows, int cols) {
        for (int i = 0; i < lin.length; i++) {
            lin[i][kind.ordinal()] = new DenseLinear(c.take(kind.metaName + "." + i, rows, cols));
        }
    }

    /** Walks the float32 sections in file order. */
    private static final class Cursor {
        private final MemorySegment map;
        private long offset = HEADER_BYTES;

        Cursor(MemorySegment map) {
            this.map = map;
        }

        Tensor take(String name, long... shape) {
            long bytes = 4 * Tensor.elementCount(shape);
            Tensor t = new Tensor(name, DType.F32, shape, map.asSlice(offset, bytes));
            offset += bytes;
            return t;
        }

        void skip(long floats) {
            offset += 4 * floats;
        }
    }
}
