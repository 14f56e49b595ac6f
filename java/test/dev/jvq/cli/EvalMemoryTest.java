package dev.jvq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvq.model.Fixtures;
import dev.jvq.model.Llama2cCheckpoint;
import dev.jvq.model.LlamaConfig;
import dev.jvq.model.LlamaModel;
import java.io.IOException;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/** The memory account printed by {@code jvq eval}. */
class EvalMemoryTest {

    @Test
    void jsonCarriesPeakRssFileSizeKvCacheAndActivations() throws IOException {
        int seqLen = 200;
        CliRun r = CliRun.of("eval", "--model", Fixtures.model(), "--tokenizer", Fixtures.tokenizer(), "--text",
                Fixtures.tinyStories(), "--seq-len", seqLen, "--max-windows", 1, "--json");
        assertEquals(0, r.status(), r::toString);
        JsonNode m = new ObjectMapper().readTree(r.out()).get("memory");
        LlamaConfig c;
        try (LlamaModel model = Llama2cCheckpoint.load(Fixtures.model())) {
            c = model.config();
        }
        // f32 keys and values for every layer and position of the window.
        assertEquals(2L * c.nLayers() * seqLen * c.kvDim() * 4, m.get("kv_cache_bytes").asLong());
        // Per-token scratch (x, xb, xb2, q, att: dim or q width; hb, hb2: hidden), positions, the last-token
        // logits, the all-token logits of the perplexity pass, and the RoPE frequencies.
        long qDim = (long) c.nHeads() * c.headDim();
        long perToken = 3L * Math.max(c.dim(), qDim) + 2 * qDim + 2L * c.hiddenDim() + 1 + c.vocabSize();
        long expected = 4 * (perToken * seqLen + c.vocabSize() + c.headDim() / 2);
        assertEquals(expected, m.get("activation_bytes").asLong());
        assertEquals(Files.size(Fixtures.model()), m.get("model_file_bytes").asLong());
        long start = m.get("rss_at_start_bytes").asLong();
        long peak = m.get("peak_rss_bytes").asLong();
        assertTrue(start > 0 && peak >= start, m::toString);
        long budget = m.get("file_kv_activation_bytes").asLong();
        assertEquals(m.get("model_file_bytes").asLong() + m.get("kv_cache_bytes").asLong()
                + m.get("activation_bytes").asLong(), budget);
        assertEquals(peak - budget, m.get("margin_bytes").asLong());
        assertEquals(peak - budget - start, m.get("margin_minus_rss_at_start_bytes").asLong());
        assertTrue(m.get("jvm_heap_committed_bytes").asLong() > 0 && m.get("jvm_non_heap_committed_bytes").asLong() > 0);
    }

    @Test
    void textOutputHasAMemoryLine() {
        CliRun r = CliRun.of("eval", "--model", Fixtures.model(), "--tokenizer", Fixtures.tokenizer(), "--text",
                Fixtures.tinyStories(), "--seq-len", 128, "--max-windows", 1);
        assertEquals(0, r.status(), r::toString);
        assertTrue(r.out().contains("\nmemory: peak RSS "), r.out());
        assertTrue(r.out().contains("RSS at start (JVM baseline)"), r.out());
    }
}
