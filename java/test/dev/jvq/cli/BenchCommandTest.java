package dev.jvq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvq.model.Fixtures;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class BenchCommandTest {

    @Test
    void benchGenerateOnTheFixture() throws IOException {
        CliRun r = CliRun.of("bench", "generate", "--model", Fixtures.model(), "--prompt-tokens", 16, "-n", 8, "--json");
        assertEquals(0, r.status(), r::toString);
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(7, j.get("decode_steps").asInt());
        assertTrue(j.get("decode_tokens_per_second").asDouble() > 0);
        assertEquals(16, j.get("prompt_tokens").asInt());
    }

    @Test
    void benchEvalOnTheFixture() throws IOException {
        CliRun r = CliRun.of("bench", "eval", "--model", Fixtures.model(), "--seq-len", 64, "--windows", 2, "--json");
        assertEquals(0, r.status(), r::toString);
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(2, j.get("windows").asInt());
        assertEquals(128, j.get("tokens").asLong());
    }

    @Test
    void unknownShapeOrMissingModelIsAUserError() {
        EvalCommandTest.expectError(CliRun.of("bench", "generate", "--synthetic", "gpt5"), "--synthetic gpt5: unknown");
        CliRun none = CliRun.of("bench", "generate");
        assertEquals(2, none.status(), none::toString);
    }
}
