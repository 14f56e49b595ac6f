package dev.jvq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.model.Fixtures;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full Java heap ends a command with one line saying so and how to raise the limit, and exit status
 * 1 — not a stack trace. Runs the CLI in a child JVM whose heap is too small to tokenise the fixture
 * text.
 */
class OutOfMemoryTest {

    @Test
    void aFullHeapIsOneLineAndExitStatusOne(@TempDir Path tmp) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        Path err = tmp.resolve("stderr.txt");
        Process p = new ProcessBuilder(java, "-Xmx12m", "--enable-native-access=ALL-UNNAMED", "-cp",
                        System.getProperty("java.class.path"), Main.class.getName(), "eval", "--model",
                        Fixtures.model().toString(), "--tokenizer", Fixtures.tokenizer().toString(), "--text",
                        Fixtures.wikiTrain().toString(), "--seq-len", "256", "--max-windows", "1")
                .redirectError(err.toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM did not finish");
        List<String> lines = Files.readAllLines(err, StandardCharsets.UTF_8);
        String text = String.join("\n", lines);
        assertEquals(1, p.exitValue(), text);
        String last = lines.get(lines.size() - 1);
        assertTrue(last.startsWith("jvq: out of Java memory (") && last.contains("JVQ_JAVA_OPTS=-Xmx"), text);
        assertFalse(text.contains("\tat "), "stack trace printed:\n" + text);
    }
}
