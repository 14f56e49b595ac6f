package dev.jvq.model;

import dev.jvq.runtime.DenseLinear;
import dev.jvq.runtime.Linear;
import dev.jvq.tensor.DType;
import dev.jvq.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

/**
 * Builds {@link LlamaModel#synthetic} models: random weights in a shared arena the model owns. The
 * tensors are read-only views, like a mapped checkpoint's, so a GPU backend may keep device copies.
 */
final class SyntheticWeights {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Elements filled per parallel task; each chunk has its own seed so the result is deterministic. */
    private static final long CHUNK = 1 << 20;

    private SyntheticWeights() {}

    static LlamaModel build(LlamaConfig c, DType dtype, long seed) {
        if (dtype.nativeCode < 0) {
            throw new IllegalArgumentException("synthetic weights must be f32, f16 or bf16, not " + dtype);
        }
        Arena arena = Arena.ofShared();
        try {
            long[] stream = {seed};
            // Embedding rows of rms 1/sqrt(dim): tied-head logits then have unit scale, as in trained models.
            Tensor embedding = random(arena, "token_embedding", dtype, c.vocabSize(), c.dim(),
                    (float) Math.sqrt(3.0 / c.dim()), stream);
            int n = c.nLayers();
            Tensor[] attnNorm = new Tensor[n];
            Tensor[] ffnNorm = new Tensor[n];
            Linear[][] linears = new Linear[n][LinearKind.values().length];
            for (int l = 0; l < n; l++) {
                attnNorm[l] = norm(arena, "rms_att." + l, c.dim(), stream);
                ffnNorm[l] = norm(arena, "rms_ffn." + l, c.dim(), stream);
                for (LinearKind k : LinearKind.values()) {
                    long rows = k.rows(c);
                    long cols = k.cols(c);
                    float a = (float) Math.sqrt(3.0 / cols);
                    linears[l][k.ordinal()] = new DenseLinear(random(arena, k.metaName + "." + l, dtype, rows, cols, a,
                            stream));
                }
            }
            Tensor finalNorm = norm(arena, "rms_final", c.dim(), stream);
            Linear head = c.tiedEmbeddings() ? new DenseLinear(embedding)
                    : new DenseLinear(random(arena, "wcls", dtype, c.vocabSize(), c.dim(),
                            (float) Math.sqrt(3.0 / c.dim()), stream));
            return new LlamaModel("synthetic(" + dtype + ", seed " + seed + ")", c, embedding, attnNorm, ffnNorm,
                    linears, finalNorm, head, arena);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private static Tensor norm(Arena arena, String name, int dim, long[] stream) {
        MemorySegment s = arena.allocate(4L * dim, 64);
        SplittableRandom r = new SplittableRandom(stream[0]++);
        for (int i = 0; i < dim; i++) {
            s.setAtIndex(F32, i, (float) (1.0 + 0.1 * (r.nextDouble() - 0.5)));
        }
        return new Tensor(name, DType.F32, new long[] {dim}, s.asReadOnly());
    }

    /** Uniform in [-a, a), rounded to the dtype. */
    private static Tensor random(Arena arena, String name, DType dtype, long rows, long cols, float a, long[] stream) {
        long n = rows * cols;
        MemorySegment s = arena.allocate(n * dtype.bytes, 64);
        long base = stream[0];
        stream[0] += (n + CHUNK - 1) / CHUNK;
        LongStream.range(0, (n + CHUNK - 1) / CHUNK).parallel().forEach(chunk -> {
            SplittableRandom r = new SplittableRandom(base + chunk * 0x9E3779B97F4A7C15L);
            long end = Math.min(n, (chunk + 1) * CHUNK);
            for (long i = chunk * CHUNK; i < end; i++) {
                float v = (float) ((r.nextDouble() * 2 - 1) * a);
                switch (dtype) {
                    case F32 -> s.setAtIndex(F32, i, v);
                    case BF16 -> s.setAtIndex(U16, i, (short) (Float.floatToRawIntBits(v) + 0x8000 >>> 16));
                    case F16 -> s.setAtIndex(U16, i, Float.floatToFloat16(v));
                    default -> throw new IllegalStateException();
                }
            }
        });
        return new Tensor(name, dtype, new long[] {rows, cols}, s.asReadOnly());
    }
}
