package dev.jvq.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvq.cli.Main;
import dev.jvq.quant.BitReport;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectCommandTest {

    @TempDir
    Path dir;

    private record Run(int status, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void reportsLayersAndTheThreeBppFigures() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            JvqContents c = SampleContents.build(arena);
            Path f = dir.resolve("m.jvq");
            JvqWriter.write(f, c);
            BitReport rep = c.bitReport(Files.size(f));

            Run text = run("inspect", f.toString());
            assertEquals(0, text.status(), text.err());
            assertTrue(text.out().contains("blk.0.ffn_gate"), text.out());
            assertTrue(text.out().contains("hasvq b=2 K=16"), text.out());
            assertTrue(text.out().contains("rtn3-g16"), text.out());
            assertTrue(text.out().contains(String.format(java.util.Locale.ROOT, "paper BPP: %.4f", rep.paperBpp())), text.out());
            assertTrue(text.out().contains("shared codebook kind:ffn: 16 x 2 fp16, 512 bits"), text.out());

            Run json = run("inspect", "--json", f.toString());
            assertEquals(0, json.status(), json.err());
            JsonNode j = new ObjectMapper().readTree(json.out());
            assertEquals(Files.size(f), j.get("bytes").asLong());
            assertEquals(5, j.get("layers").size());
            assertEquals(rep.paperBpp(), j.get("paperBpp").asDouble(), 1e-12);
            assertEquals(rep.blockBpp(), j.get("blockBpp").asDouble(), 1e-12);
            assertEquals(Files.size(f) * 8.0 / c.modelParams(), j.get("fileBpp").asDouble(), 1e-12);
            // per-layer totals add up to the model total minus the shared codebook counted once
            long sum = 0;
            for (JsonNode l : j.get("layers")) {
                sum += l.get("totalBits").asLong();
            }
            assertEquals(j.get("totals").get("quantizedBits").asLong(), sum + 512);
            assertEquals("mixed-test", j.get("metadata").get("method").asText());
        }
    }

    @Test
    void badFileIsOneLineAndStatusTwo() throws Exception {
        Path f = dir.resolve("bad.jvq");
        Files.write(f, new byte[10]);
        Run r = run("inspect", f.toString());
        assertEquals(2, r.status());
        assertEquals("jvq: " + f + ": not a .jvq file: only 10 bytes (truncated?)", r.err().strip());
    }
}
