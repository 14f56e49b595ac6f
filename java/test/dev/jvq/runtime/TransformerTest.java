package dev.jvq.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.backend.CpuBackend;
import dev.jvq.backend.RopeStyle;
import dev.jvq.model.Fixtures;
import dev.jvq.model.LinearKind;
import dev.jvq.model.Llama2cCheckpoint;
import dev.jvq.model.Llama2cTokenizer;
import dev.jvq.model.LlamaConfig;
import dev.jvq.model.LlamaModel;
import dev.jvq.tensor.DType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TransformerTest {
    static LlamaModel model;
    static ReferenceLlama reference;
    static Llama2cTokenizer tok;
    static CpuBackend cpu;

    @BeforeAll
    static void load() throws IOException {
        model = Llama2cCheckpoint.load(Fixtures.model());
        reference = ReferenceLlama.readLlama2c(Fixtures.model());
        tok = Llama2cTokenizer.load(Fixtures.tokenizer());
        cpu = new CpuBackend();
    }

    @AfterAll
    static void close() {
        model.close();
        cpu.close();
    }

    static int[] withBos(String text) {
        return IntStream.concat(IntStream.of(tok.bosId()), Arrays.stream(tok.encode(text))).toArray();
    }

    @Test
    void greedyContinuationEqualsTheFloat64Reference() {
        int[] prompt = withBos(ReferenceLlamaTest.PROMPT);
        int[] expected = reference.greedy(prompt, 40);
        try (Transformer t = new Transformer(model, cpu, 512, 64)) {
            Generator.Result r = Generator.generate(t, prompt, 40, new Sampler(0, 0, 1), new int[0], id -> {});
            assertArrayEquals(expected, r.generated());
            assertEquals(39, r.decodeSteps());
            String text = tok.decode(IntStream.concat(Arrays.stream(prompt), Arrays.stream(r.generated())).toArray());
            assertTrue(text.startsWith("\n<s>\n" + ReferenceLlamaTest.PROMPT + ReferenceLlamaTest.EXPECTED), text);
        }
    }

    @Test
    void prefillLogitsMatchTheReference() {
        int[] w = randomTokens(97, 512, 3);
        try (Transformer t = new Transformer(model, cpu, 512, 97)) {
            MemorySegment logits = t.forward(w, 0, w.length, 0, Transformer.Logits.ALL);
            ReferenceLlama.Session s = reference.new Session(w.length);
            for (int p = 0; p < w.length; p++) {
                double[] ref = s.forward(w[p], p);
                assertClose(ref, logits, (long) p * 512, 2e-4, "position " + p);
            }
        }
    }

    @Test
    void decodeWithTheKvCacheAgreesWithPrefill() {
        int[] w = randomTokens(70, 512, 5);
        try (Transformer block = new Transformer(model, cpu, 200, 70);
                Transformer step = new Transformer(model, cpu, 200, 1)) {
            // The block starts at position 30 after a first block, to exercise pos0 > 0 in both paths.
            int[] head = randomTokens(30, 512, 6);
            block.forward(head, 0, 30, 0, Transformer.Logits.NONE);
            MemorySegment all = block.forward(w, 0, w.length, 30, Transformer.Logits.ALL);
            for (int p = 0; p < 30; p++) {
                step.decode(head[p], p);
            }
            for (int p = 0; p < w.length; p++) {
                MemorySegment one = step.decode(w[p], 30 + p);
                double[] d = new double[512];
                for (int j = 0; j < 512; j++) {
                    d[j] = one.getAtIndex(ValueLayout.JAVA_FLOAT, j);
                }
                assertClose(d, all, (long) p * 512, 1e-4, "position " + (30 + p));
            }
        }
    }

    @Test
    void lastLogitsAreTheLastRowOfAll() {
        int[] w = randomTokens(33, 512, 8);
        try (Transformer t = new Transformer(model, cpu, 64, 33)) {
            float[] all = t.forward(w, 0, 33, 0, Transformer.Logits.ALL).toArray(ValueLayout.JAVA_FLOAT);
            float[] last = t.forward(w, 0, 33, 0, Transformer.Logits.LAST).toArray(ValueLayout.JAVA_FLOAT);
            assertArrayEquals(Arrays.copyOfRange(all, 32 * 512, 33 * 512), last, 1e-5f);
        }
    }

    /** GQA with HALVES rotation, Llama-3 frequency scaling, bf16 weights, untied head, odd sizes. */
    @Test
    void syntheticBf16ModelMatchesTheReference() {
        LlamaConfig c = new LlamaConfig(60, 101, 2, 6, 2, 83, 40, 50000.0, 1e-6, RopeStyle.HALVES, false,
                new LlamaConfig.RopeScaling(4, 1, 4, 16));
        try (LlamaModel m = LlamaModel.synthetic(c, DType.BF16, 21); Transformer t = new Transformer(m, cpu, 40, 40)) {
            ReferenceLlama ref = ReferenceLlama.of(m);
            int[] w = randomTokens(37, 83, 9);
            MemorySegment logits = t.forward(w, 0, w.length, 0, Transformer.Logits.ALL);
            ReferenceLlama.Session s = ref.new Session(w.length);
            for (int p = 0; p < w.length; p++) {
                assertClose(s.forward(w[p], p), logits, (long) p * 83, 2e-4, "position " + p);
            }
        }
    }

    @Test
    void ropeFrequenciesMatchTheReferenceFormula() {
        LlamaConfig c = new LlamaConfig(256, 512, 1, 2, 1, 10, 4096, 500000.0, 1e-5, RopeStyle.HALVES, true,
                new LlamaConfig.RopeScaling(8, 1, 4, 8192));
        float[] f = RopeFrequencies.invFreq(c);
        for (int i = 0; i < f.length; i++) {
            double r = ReferenceLlama.referenceFrequency(500000, i, 128, c.ropeScaling());
            assertEquals(r, f[i], Math.abs(r) * 1e-6, "pair " + i);
        }
        // Scaling matters here: without it the low frequencies would be 8x higher.
        assertTrue(f[63] < Math.pow(500000, -126.0 / 128) / 7);
    }

    @Test
    void observerSeesEveryLinearInputGroupInOrder() {
        int[] w = randomTokens(11, 512, 10);
        List<String> calls = new ArrayList<>();
        double[] firstInput = new double[64];
        try (Transformer t = new Transformer(model, cpu, 64, 16)) {
            t.setObserver((layer, group, x, n) -> {
                calls.add(layer + ":" + group + ":" + n + ":" + x.byteSize() / 4 / n);
                if (layer == 0 && group == LinearKind.Q) {
                    for (int i = 0; i < 64; i++) {
                        firstInput[i] = x.getAtIndex(ValueLayout.JAVA_FLOAT, 64 * 4 + i); // token 4
                    }
                }
            });
            t.forward(w, 0, w.length, 0, Transformer.Logits.NONE);
        }
        List<String> expected = new ArrayList<>();
        for (int l = 0; l < 5; l++) {
            expected.addAll(List.of(l + ":Q:11:64", l + ":O:11:64", l + ":GATE:11:64", l + ":DOWN:11:172"));
        }
        assertEquals(expected, calls);
        // The q/k/v input of layer 0 is RMSNorm(embedding) · rms_att[0].
        double[] e = Arrays.copyOfRange(reference.emb, w[4] * 64, w[4] * 64 + 64);
        double ss = Arrays.stream(e).map(v -> v * v).sum() / 64;
        for (int i = 0; i < 64; i++) {
            double expect = e[i] / Math.sqrt(ss + 1e-5) * reference.rmsAtt[0][i];
            assertEquals(expect, firstInput[i], 1e-5 * (1 + Math.abs(expect)));
        }
    }

    @Test
    void rejectsCallsBeyondItsBuffers() {
        try (Transformer t = new Transformer(model, cpu, 20, 8)) {
            int[] w = randomTokens(9, 512, 1);
            assertThrows(IllegalArgumentException.class, () -> t.forward(w, 0, 9, 0, Transformer.Logits.ALL));
            assertThrows(IllegalArgumentException.class, () -> t.forward(w, 0, 8, 13, Transformer.Logits.ALL));
            assertThrows(IllegalArgumentException.class, () -> t.decode(600, 0));
        }
        assertThrows(IllegalArgumentException.class, () -> new Transformer(model, cpu, 513, 8));
    }

    static int[] randomTokens(int n, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        return IntStream.range(0, n).map(i -> r.nextInt(vocab)).toArray();
    }

    /** |engine − reference| ≤ tol · (max |reference| of the row), for every entry of one row. */
    static void assertClose(double[] ref, MemorySegment engine, long offset, double tol, String where) {
        double scale = Arrays.stream(ref).map(Math::abs).max().orElse(1);
        for (int j = 0; j < ref.length; j++) {
            double e = engine.getAtIndex(ValueLayout.JAVA_FLOAT, offset + j);
            if (Math.abs(e - ref[j]) > tol * scale) {
                throw new AssertionError(where + ", logit " + j + ": engine " + e + ", reference " + ref[j]
                        + " (row scale " + scale + ")");
            }
        }
    }
}
