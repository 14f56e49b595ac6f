package dev.jvq.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.JvqException;
import dev.jvq.backend.CpuBackend;
import dev.jvq.backend.RopeStyle;
import dev.jvq.runtime.DenseLinear;
import dev.jvq.runtime.Transformer;
import dev.jvq.tensor.DType;
import dev.jvq.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfModelDirectoryTest {
    /** Four layers, GQA, head size 10, vocabulary and widths that are not multiples of vector widths. */
    static final LlamaConfig TIED = new LlamaConfig(50, 94, 4, 5, 1, 83, 64, 10000.0, 1e-5, RopeStyle.HALVES, true, null);
    static final LlamaConfig UNTIED = new LlamaConfig(50, 94, 4, 5, 1, 83, 64, 500000.0, 1e-6, RopeStyle.HALVES, false,
            new LlamaConfig.RopeScaling(8.0, 1.0, 4.0, 16));

    @TempDir
    Path dir;

    static CpuBackend cpu;

    @BeforeAll
    static void backend() {
        cpu = new CpuBackend();
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    static float[] logits(LlamaModel m, int[] tokens) {
        try (Transformer t = new Transformer(m, cpu, 64, tokens.length)) {
            return t.forward(tokens, 0, tokens.length, 0, Transformer.Logits.ALL).toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    static int[] tokens(int n, int vocab) {
        return new SplittableRandom(9).ints(n, 0, vocab).toArray();
    }

    @Test
    void exportedSyntheticModelsLoadBackBitForBit() {
        for (LlamaConfig c : List.of(TIED, UNTIED)) {
            for (DType dtype : new DType[] {DType.BF16, DType.F32}) {
                Path d = dir.resolve(c.tiedEmbeddings() + "-" + dtype);
                int[] toks = tokens(37, c.vocabSize());
                try (LlamaModel m = LlamaModel.synthetic(c, dtype, 21)) {
                    HfExporter.export(m, null, d);
                    try (LlamaModel back = HfModelDirectory.loadModel(d)) {
                        assertEquals(c, back.config());
                        assertEquals(dtype, ((DenseLinear) back.linear(2, LinearKind.UP)).dtype());
                        assertTrue(((DenseLinear) back.linear(2, LinearKind.UP)).weight().data().isMapped());
                        // Same weights, same (halves) RoPE: the forward pass is the same computation.
                        assertArrayEquals(logits(m, toks), logits(back, toks), c + " " + dtype);
                    }
                }
                assertFalse(Files.exists(d.resolve("tokenizer.json")));
            }
        }
    }

    /** Rewrites a directory's model.safetensors through {@code edit} (name → tensor, or null to drop it). */
    private Path rewrite(Path from, String name, java.util.function.Function<Tensor, Tensor> edit) throws IOException {
        Path to = dir.resolve(name);
        Files.createDirectories(to);
        Files.copy(from.resolve("config.json"), to.resolve("config.json"));
        try (SafetensorsFile f = SafetensorsFile.open(from.resolve("model.safetensors"))) {
            List<Tensor> ts = new ArrayList<>();
            for (String n : f.names()) {
                Tensor t = edit.apply(f.tensor(n));
                if (t != null) {
                    ts.add(t);
                }
            }
            SafetensorsWriter.write(to.resolve("model.safetensors"), ts, Map.of());
        }
        return to;
    }

    @Test
    void narrowNormWeightsAreWidenedToF32() throws IOException {
        Path base = dir.resolve("base");
        try (LlamaModel m = LlamaModel.synthetic(TIED, DType.BF16, 4)) {
            HfExporter.export(m, null, base);
        }
        ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        ValueLayout.OfShort u16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        try (Arena arena = Arena.ofConfined()) {
            // Norms rounded to bf16 / f16, stored narrow in one directory and as the same values in f32 in another.
            for (DType narrow : new DType[] {DType.BF16, DType.F16}) {
                Map<String, Tensor> wide = new LinkedHashMap<>();
                Path narrowDir = rewrite(base, "narrow-" + narrow, t -> {
                    if (t.rank() != 1) {
                        return t;
                    }
                    int n = (int) t.dim(0);
                    MemorySegment h = arena.allocate(2L * n);
                    MemorySegment w = arena.allocate(4L * n);
                    for (int i = 0; i < n; i++) {
                        float v = t.data().getAtIndex(f32, i);
                        short bits = narrow == DType.BF16 ? (short) (Float.floatToIntBits(v) >>> 16)
                                : Float.floatToFloat16(v);
                        h.setAtIndex(u16, i, bits);
                        w.setAtIndex(f32, i, narrow == DType.BF16 ? Float.intBitsToFloat((bits & 0xffff) << 16)
                                : Float.float16ToFloat(bits));
                    }
                    wide.put(t.name(), new Tensor(t.name(), DType.F32, t.shape(), w));
                    return new Tensor(t.name(), narrow, t.shape(), h);
                });
                Path wideDir = rewrite(base, "wide-" + narrow, t -> wide.getOrDefault(t.name(), t));
                int[] toks = tokens(29, TIED.vocabSize());
                try (LlamaModel a = HfModelDirectory.loadModel(narrowDir); LlamaModel b = HfModelDirectory.loadModel(wideDir)) {
                    assertEquals(DType.F32, a.attnNorm(3).dtype());
                    assertArrayEquals(logits(b, toks), logits(a, toks));
                }
            }
        }
    }

    @Test
    void shardedDirectoryLoadsLikeASingleFile() throws IOException {
        Path single = dir.resolve("single");
        try (LlamaModel m = LlamaModel.synthetic(UNTIED, DType.BF16, 8)) {
            HfExporter.export(m, null, single);
        }
        Path sharded = dir.resolve("sharded");
        Files.createDirectories(sharded);
        Files.copy(single.resolve("config.json"), sharded.resolve("config.json"));
        StringBuilder index = new StringBuilder("{\"metadata\": {}, \"weight_map\": {");
        try (SafetensorsFile f = SafetensorsFile.open(single.resolve("model.safetensors"))) {
            List<String> names = f.names();
            List<List<Tensor>> shards = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
            for (int i = 0; i < names.size(); i++) {
                int s = i % 3;
                shards.get(s).add(f.tensor(names.get(i)));
                index.append(i == 0 ? "" : ", ").append('"').append(names.get(i)).append("\": \"model-0000")
                        .append(s + 1).append("-of-00003.safetensors\"");
            }
            for (int s = 0; s < 3; s++) {
                SafetensorsWriter.write(sharded.resolve("model-0000" + (s + 1) + "-of-00003.safetensors"), shards.get(s),
                        Map.of());
            }
        }
        Files.writeString(sharded.resolve("model.safetensors.index.json"), index.append("}}").toString());
        int[] toks = tokens(23, UNTIED.vocabSize());
        try (LlamaModel a = HfModelDirectory.loadModel(single); LlamaModel b = HfModelDirectory.loadModel(sharded)) {
            assertArrayEquals(logits(a, toks), logits(b, toks));
        }
    }

    private String failure(Path d) {
        JvqException e = assertThrows(JvqException.class, () -> HfModelDirectory.loadModel(d).close());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    @Test
    void missingOrMisshapenTensorsAreNamed() throws IOException {
        Path base = dir.resolve("base");
        try (LlamaModel m = LlamaModel.synthetic(UNTIED, DType.F32, 2)) {
            HfExporter.export(m, null, base);
        }
        UnaryOperator<Tensor> dropUp = t -> t.name().equals("model.layers.3.mlp.up_proj.weight") ? null : t;
        Path noUp = rewrite(base, "no-up", dropUp);
        assertEquals(noUp + ": missing tensor 'model.layers.3.mlp.up_proj.weight'", failure(noUp));
        Path noHead = rewrite(base, "no-head", t -> t.name().equals("lm_head.weight") ? null : t);
        assertEquals(noHead + ": missing tensor 'lm_head.weight'", failure(noHead));
        Path transposed = rewrite(base, "transposed", t -> t.name().equals("model.layers.1.self_attn.o_proj.weight")
                ? new Tensor(t.name(), t.dtype(), new long[] {t.dim(1), t.dim(0)}, t.data()) : t);
        // o_proj is square here; k_proj is not.
        Path badK = rewrite(base, "bad-k", t -> t.name().equals("model.layers.0.self_attn.k_proj.weight")
                ? new Tensor(t.name(), t.dtype(), new long[] {t.dim(1), t.dim(0)}, t.data()) : t);
        assertEquals(badK + ": tensor 'model.layers.0.self_attn.k_proj.weight' has shape [50, 10], config.json implies"
                + " [10, 50]", failure(badK));
        try (LlamaModel m = HfModelDirectory.loadModel(transposed)) {
            assertEquals(50, m.linear(1, LinearKind.O).rows());
        }
        Path ints = rewrite(base, "ints", t -> t.name().equals("model.norm.weight")
                ? new Tensor(t.name(), DType.I32, t.shape(), t.data()) : t);
        assertEquals(ints + ": tensor 'model.norm.weight' is I32; weights must be F32, F16 or BF16", failure(ints));
        Files.delete(base.resolve("model.safetensors"));
        assertEquals(base + ": no model.safetensors or model.safetensors.index.json in this directory", failure(base));
        assertEquals(dir.resolve("nope") + ": no such directory", failure(dir.resolve("nope")));
        assertTrue(failure(noUp.resolve("config.json")).contains("not a directory"));
        Files.delete(noUp.resolve("config.json"));
        assertEquals(noUp.resolve("config.json") + ": no such file", failure(noUp));
    }

    @Test
    void tiedModelsIgnoreAStoredHead() throws IOException {
        Path base = dir.resolve("tied");
        try (LlamaModel m = LlamaModel.synthetic(TIED, DType.F32, 6)) {
            HfExporter.export(m, null, base);
            // A checkpoint may store lm_head although config.json ties it: the embedding is used.
            Path withHead = rewrite(base, "with-head", t -> t);
            try (SafetensorsFile f = SafetensorsFile.open(withHead.resolve("model.safetensors"));
                    Arena arena = Arena.ofConfined()) {
                List<Tensor> ts = new ArrayList<>();
                f.names().forEach(n -> ts.add(f.tensor(n)));
                MemorySegment junk = arena.allocate(4L * TIED.vocabSize() * TIED.dim());
                ts.add(new Tensor("lm_head.weight", DType.F32, new long[] {TIED.vocabSize(), TIED.dim()}, junk));
                SafetensorsWriter.write(withHead.resolve("model.safetensors.tmp"), ts, Map.of());
            }
            Files.move(withHead.resolve("model.safetensors.tmp"), withHead.resolve("model.safetensors"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            try (LlamaModel back = HfModelDirectory.loadModel(withHead)) {
                int[] toks = tokens(11, TIED.vocabSize());
                assertArrayEquals(logits(m, toks), logits(back, toks));
            }
        }
    }

    @Test
    void interleavedToHalvesPermutesRowsWithinEachHead() {
        // 2 heads of size 4, 3 columns; row r holds r*10 + column.
        int heads = 2;
        int headDim = 4;
        float[] w = new float[heads * headDim * 3];
        for (int r = 0; r < heads * headDim; r++) {
            for (int col = 0; col < 3; col++) {
                w[r * 3 + col] = r * 10 + col;
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = new Tensor("q", DType.F32, new long[] {8, 3}, MemorySegment.ofArray(w));
            float[] out = HfExporter.halvesFromInterleaved(t, heads, headDim, arena).data().toArray(ValueLayout.JAVA_FLOAT);
            // Head 0: pairs (0,1), (2,3) → rows 0, 2 | 1, 3; head 1 likewise from 4.
            int[] expectRows = {0, 2, 1, 3, 4, 6, 5, 7};
            for (int r = 0; r < 8; r++) {
                for (int col = 0; col < 3; col++) {
                    assertEquals(expectRows[r] * 10 + col, out[r * 3 + col]);
                }
            }
        }
    }
}
