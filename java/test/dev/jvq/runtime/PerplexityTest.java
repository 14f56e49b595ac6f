package dev.jvq.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.backend.CpuBackend;
import dev.jvq.model.Fixtures;
import dev.jvq.model.Llama2cCheckpoint;
import dev.jvq.model.Llama2cTokenizer;
import dev.jvq.model.LlamaModel;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PerplexityTest {

    @Test
    void paperWindowsAreNonOverlappingFromZeroAndShortOnesAreSkipped() {
        int[] tokens = IntStream.range(0, 999).toArray();
        List<int[]> w = Perplexity.windows(tokens, new Perplexity.Options(300, false, 0, 0), 1);
        assertEquals(3, w.size()); // 0..299, 300..599, 600..899; 99 left: skipped
        assertEquals(600, w.get(2)[0]);
        assertEquals(899, w.get(2)[299]);
        w = Perplexity.windows(IntStream.range(0, 1000).toArray(), new Perplexity.Options(300, false, 0, 0), 1);
        assertEquals(4, w.size()); // the last 100 tokens make a window of exactly 100: kept
        assertEquals(100, w.get(3).length);
    }

    @Test
    void bosWindowsCarryBosPlusSeqLenMinusOneTextTokens() {
        int[] tokens = IntStream.range(10, 10 + 700).toArray();
        List<int[]> w = Perplexity.windows(tokens, new Perplexity.Options(256, true, 0, 0), 1);
        // 255 + 255 + 190 text tokens, each window led by BOS.
        assertEquals(3, w.size());
        assertEquals(256, w.get(0).length);
        assertEquals(1, w.get(1)[0]);
        assertEquals(10 + 255, w.get(1)[1]);
        assertEquals(191, w.get(2).length);
        List<int[]> some = Perplexity.windows(tokens, new Perplexity.Options(256, true, 1, 1), 1);
        assertEquals(1, some.size());
        assertArrayEquals(w.get(1), some.get(0));
        // Windows shorter than seqLen itself are the floor when seqLen < 100.
        assertEquals(3, Perplexity.windows(IntStream.range(0, 150).toArray(),
                new Perplexity.Options(50, false, 0, 0), 1).size());
    }

    /** Engine vs the float64 reference on real windows of the evaluation text (BOS variant, seq-len 256). */
    @Test
    void engineMatchesTheFloat64ReferenceOnTinyStories() throws IOException {
        Llama2cTokenizer tok = Llama2cTokenizer.load(Fixtures.tokenizer());
        int[] tokens = tok.encode(Files.readString(Fixtures.tinyStories()));
        Perplexity.Options o = new Perplexity.Options(256, true, 2, 5);
        ReferenceLlama ref = ReferenceLlama.readLlama2c(Fixtures.model());
        double meanLoss = 0;
        double nll = 0;
        long scored = 0;
        List<int[]> windows = Perplexity.windows(tokens, o, 1);
        for (int[] w : windows) {
            double n = ref.windowNll(w);
            meanLoss += n / (w.length - 1);
            nll += n;
            scored += w.length - 1;
        }
        double refPpl = Math.exp(meanLoss / windows.size());
        double refWeighted = Math.exp(nll / scored);
        try (LlamaModel m = Llama2cCheckpoint.load(Fixtures.model()); CpuBackend cpu = new CpuBackend();
                Transformer t = new Transformer(m, cpu, 256, 256)) {
            int[] progress = {0};
            Perplexity.Result r = Perplexity.evaluate(t, tokens, o, 1, (done, total, fed, s) -> progress[0] = done);
            assertEquals(5, r.windows());
            assertEquals(5, progress[0]);
            assertEquals(5 * 255, r.scored());
            assertEquals(5 * 256, r.tokens());
            assertEquals(refPpl, r.ppl(), refPpl * 1e-4);
            assertEquals(refWeighted, r.pplTokenWeighted(), refWeighted * 1e-4);
            // Sanity: the 260K model is good on its own domain (validation loss about 1.3 → ppl about 3.7).
            assertTrue(r.ppl() > 2 && r.ppl() < 8, "ppl " + r.ppl());
        }
    }
}
