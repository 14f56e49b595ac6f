package dev.jvq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvq.model.Fixtures;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class GenerateCommandTest {
    static final String EXPECTED = ", there was a little girl named Lily. She loved to play outside in the park.";

    @Test
    void greedyGenerationStreamsTheKnownContinuation() {
        CliRun r = CliRun.of("generate", "--model", Fixtures.model(), "--tokenizer", Fixtures.tokenizer(), "--prompt",
                "Once upon a time", "-n", 40, "--temperature", 0);
        assertEquals(0, r.status(), r::toString);
        assertTrue(r.out().startsWith(EXPECTED), r::toString);
        assertTrue(r.err().contains("decode"), r.err());
    }

    @Test
    void jsonHasIdsTextAndSpeeds() throws IOException {
        CliRun r = CliRun.of("generate", "--model", Fixtures.model(), "--tokenizer", Fixtures.tokenizer(), "--prompt",
                "Once upon a time", "-n", 30, "--temperature", 0, "--json");
        assertEquals(0, r.status(), r::toString);
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(30, j.get("tokens").size());
        assertEquals(5, j.get("prompt_tokens").size()); // BOS + 4
        assertEquals(1, j.get("prompt_tokens").get(0).asInt());
        assertTrue(j.get("text").asText().startsWith(EXPECTED), j.get("text").asText());
        assertTrue(j.get("decode_tokens_per_second").asDouble() > 0);
        assertTrue(j.get("prefill_tokens_per_second").asDouble() > 0);
    }

    @Test
    void seededSamplingIsReproducible() {
        Object[] args = {"generate", "--model", Fixtures.model(), "--tokenizer", Fixtures.tokenizer(), "--prompt",
            "The dog", "-n", 50, "--temperature", 0.9, "--top-p", 0.9, "--seed", 1234};
        CliRun a = CliRun.of(args);
        CliRun b = CliRun.of(args);
        assertEquals(0, a.status(), a::toString);
        assertEquals(a.out(), b.out());
        assertTrue(a.out().length() > 20, a.out());
    }

    @Test
    void badSettingsAreUserErrors() {
        Object[] base = {"generate", "--model", Fixtures.model(), "--tokenizer", Fixtures.tokenizer()};
        EvalCommandTest.expectError(CliRun.of(EvalCommandTest.concat(base, "--top-p", 1.5)), "--top-p 1.5");
        EvalCommandTest.expectError(CliRun.of(EvalCommandTest.concat(base, "--temperature", -1)), "--temperature -1");
        EvalCommandTest.expectError(CliRun.of(EvalCommandTest.concat(base, "-n", -3)), "-n -3");
        EvalCommandTest.expectError(CliRun.of(EvalCommandTest.concat(base, "--prompt", "word ".repeat(600))),
                "leave no room in the context");
        EvalCommandTest.expectError(CliRun.of(EvalCommandTest.concat(base, "--backend", "tpu")), "unknown backend");
    }
}
