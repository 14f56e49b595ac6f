package dev.jvq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvq.model.Fixtures;
import dev.jvq.model.Llama2cCheckpoint;
import dev.jvq.model.LlamaModel;
import dev.jvq.train.FisherStatistics;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class BenchFisherCommandTest {

    @Test
    void timesCalibrationOnTheFixtureText() throws IOException {
        CliRun r = CliRun.of("bench", "fisher", "--model", Fixtures.model(), "--text", Fixtures.tinyStories(),
                "--tokenizer", Fixtures.tokenizer(), "--sequences", 2, "--seq-len", 48, "--layers", "1:3",
                "--backend", "cpu", "--json");
        assertEquals(0, r.status(), r::toString);
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(2, j.get("sequences").asInt());
        assertEquals(48, j.get("seq_len").asInt());
        assertEquals(1, j.get("layer_from").asInt());
        assertTrue(j.get("backward_seconds_per_sequence").asDouble() > 0);
        assertTrue(j.get("accumulation_seconds_per_sequence").asDouble() > 0);
        try (LlamaModel m = Llama2cCheckpoint.load(Fixtures.model())) {
            assertEquals(FisherStatistics.bytesNeeded(m.config(), 1, 3), j.get("statistics_bytes").asLong());
        }
        // The resident set holds at least the JVM itself.
        assertTrue(j.get("peak_rss_bytes").asLong() > 1 << 20, r::toString);
        assertTrue(r.err().contains("need"), "the memory estimate is printed before starting: " + r.err());
    }

    @Test
    void badOptionsAreUserErrors() {
        EvalCommandTest.expectError(CliRun.of("bench", "fisher", "--model", Fixtures.model(), "--layers", "2:1"),
                "--layers 2:1: expected FROM:TO");
        EvalCommandTest.expectError(CliRun.of("bench", "fisher", "--synthetic", "smollm2-135m", "--text",
                Fixtures.tinyStories()), "--text needs --model");
        EvalCommandTest.expectError(CliRun.of("bench", "fisher", "--model", Fixtures.model(), "--precision", "f16"),
                "--precision f16: choose f32 or f64");
    }
}
