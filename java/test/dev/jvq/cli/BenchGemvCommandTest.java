package dev.jvq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** {@code jvq bench gemv} at a tiny odd shape: the JSON fields and their consistency (no timing claims). */
class BenchGemvCommandTest {

    static JsonNode run(String method) throws IOException {
        CliRun r = CliRun.of("bench", "gemv", "--rows", 67, "--cols", 131, "--method", method, "--seconds", 0.05,
                "--backend", "cpu", "--threads", 1, "--json");
        assertEquals(0, r.status(), r::toString);
        return new ObjectMapper().readTree(r.out());
    }

    @Test
    void rtnReportsBytesBandwidthAndSpeedups() throws IOException {
        JsonNode j = run("rtn4-row");
        assertEquals("rtn4-row", j.get("method").asText());
        assertEquals(67, j.get("rows").asInt());
        assertEquals(131, j.get("cols").asInt());
        // codes ceil(67*131*4/8) + 67 fp16 scales + x
        assertEquals((67 * 131 * 4 + 7) / 8 + 67 * 2 + 131 * 4, j.get("bytes_read").asLong());
        assertTrue(j.get("calls").asInt() >= 1);
        for (String f : new String[] {"median_seconds", "gb_per_second", "bandwidth_gb_per_second",
                "fraction_of_bandwidth", "dense_f32_median_seconds", "dense_bf16_median_seconds",
                "speedup_vs_dense_f32", "speedup_vs_dense_bf16"}) {
            assertTrue(j.get(f).asDouble() > 0, f + " in " + j);
        }
        double gbps = j.get("bytes_read").asDouble() / j.get("median_seconds").asDouble() / 1e9;
        assertEquals(gbps, j.get("gb_per_second").asDouble(), 1e-9 * gbps);
        assertEquals(j.get("dense_bf16_median_seconds").asDouble() / j.get("median_seconds").asDouble(),
                j.get("speedup_vs_dense_bf16").asDouble(), 1e-9);
        // 4-bit per-row RTN of a Student-t matrix: a few per cent of error, never garbage
        double err = j.get("relative_error_vs_f32").asDouble();
        assertTrue(err > 0 && err < 0.3, "relative error " + err);
        assertTrue(j.get("quantiser").asText().contains("rtn4-row"));
    }

    @Test
    void hasVqAndDenseMethods() throws IOException {
        JsonNode h = run("hasvq-mid");
        assertTrue(h.get("quantiser").asText().contains("k-means iters=2"), h.toString());
        // at this size the 2048 x 4 fp16 codebook dominates: bits/weight counts every byte read but x
        assertEquals(h.get("bytes_read").asDouble() - 131 * 4, h.get("bits_per_weight").asDouble() * 67 * 131 / 8, 1e-6);
        assertTrue(h.get("bytes_read").asLong() > 2048 * 4 * 2 + (67 * 131 / 4) * 11 / 8, h.toString());
        assertTrue(h.get("relative_error_vs_f32").asDouble() < 0.5, h.toString());
        JsonNode d = run("dense-bf16");
        assertEquals(67L * 131 * 2 + 131 * 4, d.get("bytes_read").asLong());
        assertEquals(16.0, d.get("bits_per_weight").asDouble());
        assertEquals(d.get("dense_bf16_median_seconds").asDouble(), d.get("median_seconds").asDouble());
    }

    @Test
    void textReportNamesSpeedupsAndTheKernelBuild() {
        CliRun r = CliRun.of("bench", "gemv", "--rows", 67, "--cols", 131, "--method", "rtn4-row", "--seconds", 0.05,
                "--backend", "cpu", "--threads", 1);
        assertEquals(0, r.status(), r::toString);
        assertTrue(r.out().startsWith("rtn4-row 67 x 131 on cpu: median "), r.out());
        assertTrue(r.out().contains("over dense bf16"), r.out());
        assertTrue(r.out().contains("  device: cpu: ") && r.out().contains("libjvq "), r.out());
    }

    @Test
    void badMethodOrShapeIsAUserError() {
        EvalCommandTest.expectError(CliRun.of("bench", "gemv", "--rows", 4, "--cols", 4, "--method", "int3"),
                "--method int3");
        EvalCommandTest.expectError(CliRun.of("bench", "gemv", "--rows", 0, "--cols", 4, "--method", "rtn4-row"),
                "--rows");
    }
}
