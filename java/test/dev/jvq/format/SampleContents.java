package dev.jvq.format;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.quant.BitPacker;
import dev.jvq.quant.Codebook;
import dev.jvq.quant.LittleEndian;
import dev.jvq.quant.QuantizedLayer;
import dev.jvq.quant.Rtn;
import dev.jvq.quant.RtnParams;
import dev.jvq.quant.TestData;
import dev.jvq.quant.VqLinear;
import dev.jvq.tensor.DType;
import dev.jvq.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A small but complete model container: the real tok512 tokenizer, f32/f16 tensors with every
 * role, RTN layers from the real quantiser, and VQ layers with random valid contents (private
 * codebooks, a shared one, one without outliers).
 */
final class SampleContents {
    private SampleContents() {}

    static byte[] tokenizerBytes() throws IOException {
        return Files.readAllBytes(Path.of(System.getProperty("jvq.fixtures"), "tok512.bin"));
    }

    static JvqContents build(Arena arena) throws IOException {
        ObjectNode meta = JsonNodeFactory.instance.objectNode();
        meta.put("method", "mixed-test");
        meta.putObject("config").put("dim", 24).put("n_layers", 1);
        byte[] tok = tokenizerBytes();
        MemorySegment tokSeg = arena.allocate(tok.length);
        MemorySegment.copy(tok, 0, tokSeg, ValueLayout.JAVA_BYTE, 0, tok.length);

        List<JvqContents.StoredTensor> tensors = new ArrayList<>();
        tensors.add(new JvqContents.StoredTensor(TestData.f32("tok_embeddings", TestData.weights(33, 24, 1), 33, 24, arena),
                TensorRole.EMBEDDING));
        tensors.add(new JvqContents.StoredTensor(norm("norm", 24, arena), TensorRole.NORM));
        tensors.add(new JvqContents.StoredTensor(TestData.f16("output", TestData.weights(33, 24, 2), 33, 24, arena),
                TensorRole.HEAD));
        tensors.add(new JvqContents.StoredTensor(TestData.f32("blk.0.dense", TestData.weights(5, 24, 3), 5, 24, arena),
                TensorRole.LINEAR));

        List<QuantizedLayer> layers = new ArrayList<>();
        layers.add(Rtn.quantize("blk.0.attn_q", TestData.f32("q", TestData.weights(24, 24, 4), 24, 24, arena),
                RtnParams.INT4_ROW, arena));
        layers.add(Rtn.quantize("blk.0.ffn_down", TestData.f32("d", TestData.weights(24, 37, 5), 24, 37, arena),
                new RtnParams(3, 16, false), arena));
        Codebook shared = randomCodebook("kind:ffn", 16, 2, 6, arena);
        layers.add(randomVq("blk.0.ffn_gate", 37, 24, shared, 13, 7, arena));
        layers.add(randomVq("blk.0.ffn_up", 37, 24, shared, 0, 8, arena));
        layers.add(randomVq("blk.0.attn_k", 11, 24, randomCodebook(null, 5, 3, 9, arena), 4, 10, arena));
        return new JvqContents(meta, new JvqContents.TokenizerBlob("llama2c", tokSeg), tensors, layers);
    }

    static Tensor norm(String name, int n, Arena arena) {
        MemorySegment s = arena.allocate((long) n * 4);
        for (int i = 0; i < n; i++) {
            s.setAtIndex(LittleEndian.F32, i, 1f + i / 100f);
        }
        return new Tensor(name, DType.F32, new long[] {n}, s);
    }

    static Codebook randomCodebook(String name, int k, int b, long seed, Arena arena) {
        SplittableRandom r = new SplittableRandom(seed);
        MemorySegment data = arena.allocate((long) k * b * 2);
        for (int i = 0; i < k * b; i++) {
            data.setAtIndex(LittleEndian.I16, i, Float.floatToFloat16((float) (r.nextDouble() * 2 - 1)));
        }
        return new Codebook(name, k, b, data);
    }

    /** A VQ layer with random codes below k, random scales and nnz random sorted outliers. */
    static VqLinear randomVq(String name, int rows, int cols, Codebook cb, int nnz, long seed, Arena arena) {
        SplittableRandom r = new SplittableRandom(seed);
        int bits = BitPacker.bitsFor(cb.k());
        int m = (int) VqLinear.vectors(rows, cols, cb.b());
        int[] codes = new int[m];
        for (int i = 0; i < m; i++) {
            codes[i] = r.nextInt(cb.k());
        }
        MemorySegment codeSeg = arena.allocate(BitPacker.packedBytes(m, bits) + BitPacker.TAIL_BYTES);
        BitPacker.pack(codes, bits, codeSeg);
        MemorySegment scales = arena.allocate(rows * 2L);
        for (int i = 0; i < rows; i++) {
            scales.setAtIndex(LittleEndian.I16, i, Float.floatToFloat16((float) (0.01 + r.nextDouble())));
        }
        long[] flat = dev.jvq.quant.Sampling.withoutReplacement((long) rows * cols, nnz, r);
        MemorySegment idx = arena.allocate(nnz * 4L);
        MemorySegment val = arena.allocate(nnz * 2L);
        for (int i = 0; i < nnz; i++) {
            idx.setAtIndex(LittleEndian.I32, i, (int) flat[i]);
            val.setAtIndex(LittleEndian.I16, i, Float.floatToFloat16((float) (r.nextDouble() - 0.5)));
        }
        return new VqLinear(name, rows, cols, cb, bits, codeSeg, scales, nnz, idx, val);
    }
}
