package dev.jvq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class BenchQuantizeCommandTest {
    @Test
    void smallMatrixReportsRatesAndMemory() throws Exception {
        CliRun r = CliRun.of("bench", "quantize", "--rows", 67, "--cols", 131, "--method", "hasvq-mid:k=64,iters=2",
                "--json");
        assertEquals(0, r.status(), r.toString());
        JsonNode o = new ObjectMapper().readTree(r.out());
        assertEquals(64, o.get("k").asInt());
        assertTrue(o.get("assign_gflops").asDouble() > 0 && o.get("sgemm_gflops").asDouble() > 0, r.out());
        assertTrue(o.get("peak_rss_bytes").asLong() > 0, r.out());
    }

    @Test
    void wholeSyntheticModelReportsMemory() throws Exception {
        CliRun r = CliRun.of("bench", "quantize", "--synthetic", "smollm2-135m", "--method",
                "hasvq-mid:k=16,iters=1,stability=2", "--json");
        assertEquals(0, r.status(), r.toString());
        JsonNode o = new ObjectMapper().readTree(r.out());
        assertEquals("smollm2-135m", o.get("synthetic").asText());
        assertTrue(o.get("parameters").asLong() > 130_000_000L, r.out());
        assertTrue(o.get("peak_rss_bytes").asLong() > 0, r.out());
    }

    @Test
    void rejectsNonVqMethods() {
        CliRun r = CliRun.of("bench", "quantize", "--method", "rtn4-row");
        assertEquals(2, r.status(), r.toString());
        assertTrue(r.err().contains("HAS-VQ"), r.err());
    }
}
