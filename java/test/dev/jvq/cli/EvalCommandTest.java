package dev.jvq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvq.model.Fixtures;
import dev.jvq.model.HfExporter;
import dev.jvq.model.Llama2cCheckpoint;
import dev.jvq.model.Llama2cTokenizer;
import dev.jvq.model.LlamaModel;
import dev.jvq.pipeline.CompressedModel;
import dev.jvq.pipeline.StoredTokenizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalCommandTest {

    @Test
    void evaluatesWindowsAndPrintsJson() throws IOException {
        CliRun r = CliRun.of("eval", "--model", Fixtures.model(), "--tokenizer", Fixtures.tokenizer(), "--text",
                Fixtures.tinyStories(), "--seq-len", 256, "--bos", "--max-windows", 3, "--skip-windows", 1, "--json",
                "--threads", 2);
        assertEquals(0, r.status(), r::toString);
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(3, j.get("windows").asInt());
        assertEquals(3 * 256, j.get("tokens").asLong());
        double ppl = j.get("ppl").asDouble();
        assertTrue(ppl > 2 && ppl < 8, r.out());
        assertTrue(j.get("tokens_per_second").asDouble() > 0);
        assertTrue(j.has("ppl_token_weighted") && j.has("seconds"));
        assertTrue(r.err().contains("3/3 windows"), r.err());
    }

    @Test
    void paperProtocolHumanOutput() {
        CliRun r = CliRun.of("eval", "--model", Fixtures.model(), "--tokenizer", Fixtures.tokenizer(), "--text",
                Fixtures.wikiTest(), "--seq-len", 512, "--max-windows", 2);
        assertEquals(0, r.status(), r::toString);
        assertTrue(r.out().startsWith("perplexity "), r.out());
        assertTrue(r.out().contains("over 2 windows of 512 tokens"), r.out());
    }

    /** A .jvq file carries its tokenizer; a dense copy of the fixture evaluates exactly like the .bin. */
    @Test
    void compressedModelFilesEvaluateWithTheirOwnTokenizer(@TempDir Path dir) throws IOException {
        Path jvq = dir.resolve("dense.jvq");
        try (LlamaModel m = Llama2cCheckpoint.load(Fixtures.model())) {
            CompressedModel.save(jvq, m, new StoredTokenizer(StoredTokenizer.LLAMA2C,
                    Files.readAllBytes(Fixtures.tokenizer())), new ObjectMapper().createObjectNode());
        }
        CliRun fromJvq = CliRun.of("eval", "--model", jvq, "--text", Fixtures.tinyStories(), "--seq-len", 256, "--bos",
                "--max-windows", 2, "--json");
        CliRun fromBin = CliRun.of("eval", "--model", Fixtures.model(), "--tokenizer", Fixtures.tokenizer(), "--text",
                Fixtures.tinyStories(), "--seq-len", 256, "--bos", "--max-windows", 2, "--json");
        assertEquals(0, fromJvq.status(), fromJvq::toString);
        assertEquals(0, fromBin.status(), fromBin::toString);
        ObjectMapper json = new ObjectMapper();
        assertEquals(json.readTree(fromBin.out()).get("ppl").asDouble(), json.readTree(fromJvq.out()).get("ppl").asDouble());
    }

    /** The fixture exported as a Hugging Face directory (HALVES RoPE, tokenizer.json) evaluates like the .bin. */
    @Test
    void huggingFaceDirectoriesEvaluateLikeTheOriginal(@TempDir Path dir) throws IOException {
        Path hf = dir.resolve("stories260K-hf");
        try (LlamaModel m = Llama2cCheckpoint.load(Fixtures.model())) {
            HfExporter.export(m, Llama2cTokenizer.load(Fixtures.tokenizer()), hf);
        }
        CliRun fromHf = CliRun.of("eval", "--model", hf, "--text", Fixtures.tinyStories(), "--seq-len", 256, "--bos",
                "--max-windows", 2, "--json");
        CliRun fromBin = CliRun.of("eval", "--model", Fixtures.model(), "--tokenizer", Fixtures.tokenizer(), "--text",
                Fixtures.tinyStories(), "--seq-len", 256, "--bos", "--max-windows", 2, "--json");
        assertEquals(0, fromHf.status(), fromHf::toString);
        assertEquals(0, fromBin.status(), fromBin::toString);
        ObjectMapper json = new ObjectMapper();
        double a = json.readTree(fromBin.out()).get("ppl").asDouble();
        double b = json.readTree(fromHf.out()).get("ppl").asDouble();
        assertEquals(a, b, a * 1e-5);
    }

    @Test
    void userErrorsAreOneLineAndExitTwo(@TempDir Path dir) throws IOException {
        Object[] common = {"eval", "--model", Fixtures.model(), "--tokenizer", Fixtures.tokenizer(), "--seq-len", 256};

        // Sequence length beyond the model's context of 512.
        expectError(CliRun.of("eval", "--model", Fixtures.model(), "--tokenizer", Fixtures.tokenizer(), "--text",
                Fixtures.tinyStories(), "--seq-len", 1024), "--seq-len 1024 exceeds the context of");

        Path empty = Files.write(dir.resolve("empty.txt"), new byte[0]);
        expectError(CliRun.of(concat(common, "--text", empty)), empty + ": empty text");

        Path latin1 = Files.write(dir.resolve("latin1.txt"), new byte[] {'c', 'a', 'f', (byte) 0xe9, ' ', 'x'});
        expectError(CliRun.of(concat(common, "--text", latin1)), latin1 + ": not valid UTF-8 at byte offset 3");

        Path shortText = Files.writeString(dir.resolve("short.txt"), "Once upon a time.");
        expectError(CliRun.of(concat(common, "--text", shortText)), "give no window of at least 100 tokens");

        // A tokenizer with only the first 300 of the 512 tokens.
        Path smallTok = dir.resolve("tok300.bin");
        Files.write(smallTok, firstTokens(Files.readAllBytes(Fixtures.tokenizer()), 300));
        expectError(CliRun.of("eval", "--model", Fixtures.model(), "--tokenizer", smallTok, "--text",
                Fixtures.tinyStories()), smallTok + ": has 300 tokens but the model");

        // No tokenizer.bin next to the model.
        expectError(CliRun.of("eval", "--model", Fixtures.model(), "--text", Fixtures.tinyStories()),
                "no tokenizer.bin next to the model; pass --tokenizer");

        byte[] model = Files.readAllBytes(Fixtures.model());
        Path truncated = Files.write(dir.resolve("truncated.bin"), Arrays.copyOf(model, 5000));
        expectError(CliRun.of("eval", "--model", truncated, "--tokenizer", Fixtures.tokenizer(), "--text",
                Fixtures.tinyStories()), truncated + ": truncated: expected 1056540 bytes");

        expectError(CliRun.of(concat(common, "--text", dir.resolve("nope.txt"))), dir.resolve("nope.txt")
                + ": no such file");

        CliRun badOption = CliRun.of("eval", "--model", Fixtures.model(), "--text", "x", "--seq-len", "many");
        assertEquals(2, badOption.status(), badOption::toString);
    }

    static void expectError(CliRun r, String fragment) {
        assertEquals(2, r.status(), r::toString);
        String first = r.err().lines().filter(l -> l.startsWith("jvq: ")).findFirst().orElse("");
        assertTrue(first.contains(fragment), r::toString);
        assertEquals(1, r.err().lines().filter(l -> l.startsWith("jvq: ")).count(), r::toString);
    }

    static Object[] concat(Object[] a, Object... b) {
        Object[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** The header and the first n records of a llama2.c tokenizer.bin. */
    static byte[] firstTokens(byte[] tok, int n) {
        ByteBuffer b = ByteBuffer.wrap(tok).order(ByteOrder.LITTLE_ENDIAN);
        b.getInt();
        for (int i = 0; i < n; i++) {
            b.getFloat();
            int len = b.getInt();
            b.position(b.position() + len);
        }
        return Arrays.copyOf(tok, b.position());
    }
}
