package dev.jvq.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.cli.Main;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code jvq convert} run in-process. */
class HfConvertCommandTest {
    @TempDir
    Path dir;

    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void convertsTheFixtureIntoALoadableDirectory() throws IOException {
        Path out = dir.resolve("stories260K-hf");
        Run r = run("convert", "--model", Fixtures.model().toString(), "--tokenizer", Fixtures.tokenizer().toString(),
                "--out", out.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().startsWith("jvq convert: wrote " + out), r.err());
        try (LlamaModel m = HfModelDirectory.loadModel(out)) {
            assertEquals(512, m.config().vocabSize());
        }
        String text = "Once upon a time, there was a little dog named Spot.";
        assertArrayEquals(Llama2cTokenizer.load(Fixtures.tokenizer()).encode(text),
                HfModelDirectory.loadTokenizer(out).encode(text));
        try (var files = Files.list(out)) {
            assertEquals(4, files.count(), "config, weights, tokenizer and its config; no temporary files");
        }
    }

    @Test
    void badInputIsOneLineWithStatus2() {
        Run r = run("convert", "--model", dir.resolve("missing.bin").toString(), "--out", dir.resolve("o").toString());
        assertEquals(2, r.status());
        assertEquals("jvq: " + dir.resolve("missing.bin") + ": no such file", r.err().strip());
        Run t = run("convert", "--model", Fixtures.model().toString(), "--tokenizer", Fixtures.model().toString(),
                "--out", dir.resolve("o").toString());
        assertEquals(2, t.status());
        assertFalse(t.err().strip().contains("\n"), t.err());
        assertTrue(t.err().startsWith("jvq: " + Fixtures.model()), t.err());
        assertEquals(2, run("convert", "--model", Fixtures.model().toString()).status(), "--out is required");
    }
}
