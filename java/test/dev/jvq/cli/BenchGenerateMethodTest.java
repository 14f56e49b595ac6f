package dev.jvq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvq.model.Fixtures;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** {@code jvq bench generate --method M}: dense and compressed timed in one run. */
class BenchGenerateMethodTest {

    @Test
    void denseAndRtnCompressedAreTimedInTheSameRun() throws IOException {
        CliRun r = CliRun.of("bench", "generate", "--model", Fixtures.model(), "--prompt-tokens", 16, "-n", 8,
                "--warmup", 0, "--method", "rtn4-row", "--json");
        assertEquals(0, r.status(), r::toString);
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("rtn4-row", j.get("method").asText());
        assertEquals("dense f32", j.get("dense_weights").asText());
        JsonNode dense = j.get("dense");
        JsonNode q = j.get("compressed");
        assertEquals(7, dense.get("decode_steps").asInt());
        assertEquals(7, q.get("decode_steps").asInt());
        // 4-bit codes and a scale per row take far less than the f32 block linears they replace.
        assertTrue(q.get("weight_bytes").asLong() < dense.get("weight_bytes").asLong() / 2, r::toString);
        double speedup = q.get("decode_tokens_per_second").asDouble() / dense.get("decode_tokens_per_second").asDouble();
        assertEquals(speedup, j.get("decode_speedup").asDouble(), 1e-9 * speedup);
        assertTrue(j.get("prefill_speedup").asDouble() > 0);
    }

    @Test
    void hasVqOverridesAreReportedInText() {
        CliRun r = CliRun.of("bench", "generate", "--model", Fixtures.model(), "--prompt-tokens", 8, "-n", 4,
                "--warmup", 0, "--method", "hasvq-mid:iters=1,stability=4");
        assertEquals(0, r.status(), r::toString);
        assertTrue(r.out().contains("hasvq-mid:stability=4,iters=1"), r::toString);
        assertTrue(r.out().contains("stability=4 k-means iters=1"), r::toString);
        assertTrue(r.out().contains("speedup of hasvq-mid:stability=4,iters=1 over dense: decode"), r::toString);
    }

    @Test
    void unknownMethodIsAUserError() {
        EvalCommandTest.expectError(CliRun.of("bench", "generate", "--model", Fixtures.model(), "--method", "rtn9-foo"),
                "unknown quantisation method 'rtn9-foo'");
    }
}
