package dev.jvq.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.model.Fixtures;
import dev.jvq.model.Llama2cTokenizer;
import java.io.IOException;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The float64 reference itself reproduces the model's known behaviour (so the engine tests mean something). */
class ReferenceLlamaTest {
    static final String PROMPT = "Once upon a time";
    static final String EXPECTED = ", there was a little girl named Lily. She loved to play outside in the park.";

    @Test
    void greedyContinuationOfOnceUponATime() throws IOException {
        ReferenceLlama ref = ReferenceLlama.readLlama2c(Fixtures.model());
        Llama2cTokenizer tok = Llama2cTokenizer.load(Fixtures.tokenizer());
        int[] prompt = IntStream.concat(IntStream.of(1), Arrays.stream(tok.encode(PROMPT))).toArray();
        int[] out = ref.greedy(prompt, 40);
        String text = tok.decode(IntStream.concat(Arrays.stream(prompt), Arrays.stream(out)).toArray());
        assertTrue(text.startsWith("\n<s>\n" + PROMPT + EXPECTED), text);
    }

    @Test
    void frequenciesFollowTheLlama3Rule() {
        var s = new dev.jvq.model.LlamaConfig.RopeScaling(8, 1, 4, 8192);
        // Highest frequency: wavelength 2π < 8192/4, unchanged.
        assertEquals(1.0, ReferenceLlama.referenceFrequency(500000, 0, 128, s), 0);
        // Lowest: wavelength far beyond 8192, divided by the factor.
        double f = Math.pow(500000, -126.0 / 128);
        assertEquals(f / 8, ReferenceLlama.referenceFrequency(500000, 63, 128, s), 1e-20);
    }
}
