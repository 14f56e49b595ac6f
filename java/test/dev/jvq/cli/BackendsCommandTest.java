package dev.jvq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvq.backend.CudaProbe;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** `jvq backends` in text and JSON form, run in-process. */
class BackendsCommandTest {

    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int status = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void textListsEveryBackendAndTheAutoChoice() {
        Run r = run("backends");
        assertEquals(0, r.status(), r.err());
        String[] lines = r.out().strip().split("\n");
        assertEquals(3, lines.length, r.out());
        assertTrue(lines[0].matches("cpu\\s+available\\s+cpu: .+"), lines[0]);
        boolean gpu = CudaProbe.probe().available();
        if (gpu) {
            assertTrue(lines[1].matches("cuda\\s+available\\s+.+"), lines[1]);
        } else {
            assertTrue(lines[1].matches("cuda\\s+unavailable\\s+.+"), lines[1]);
            assertTrue(lines[1].contains(CudaProbe.probe().reason()), lines[1]);
        }
        assertTrue(lines[2].matches("auto\\s+->\\s+" + (gpu ? "cuda" : "cpu")), lines[2]);
    }

    @Test
    void jsonIsOneObjectWithTheSameFacts() throws Exception {
        Run r = run("backends", "--json");
        assertEquals(0, r.status(), r.err());
        JsonNode root = new ObjectMapper().readTree(r.out());
        JsonNode list = root.get("backends");
        assertEquals(2, list.size());
        assertEquals("cpu", list.get(0).get("name").asText());
        assertTrue(list.get(0).get("available").asBoolean());
        assertTrue(list.get(0).get("device").asText().startsWith("cpu: "));
        JsonNode cuda = list.get(1);
        assertEquals("cuda", cuda.get("name").asText());
        boolean gpu = CudaProbe.probe().available();
        assertEquals(gpu, cuda.get("available").asBoolean());
        if (!gpu) {
            assertEquals(CudaProbe.probe().reason(), cuda.get("reason").asText());
        }
        assertEquals(gpu ? "cuda" : "cpu", root.get("auto").asText());
    }
}
