package dev.jvq.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvq.model.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** jvq quantize → .jvq → jvq inspect / jvq eval on the fixture model, and its bad-input paths. */
class QuantizeCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Object[] quantize(Path out, String method, Object... extra) {
        List<Object> a = new java.util.ArrayList<>(List.of("quantize", "--model", Fixtures.model(), "--tokenizer",
                Fixtures.tokenizer(), "--method", method, "--out", out, "--json"));
        a.addAll(List.of(extra));
        return a.toArray();
    }

    private static Object[] calib(int seqs) {
        return new Object[] {"--calib", Fixtures.tinyStories(), "--calib-bos", "--calib-seqs", seqs, "--calib-len", 256};
    }

    @Test
    void hasvqFileIsSelfContainedAndAccountedExactly(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("m.jvq");
        Object[] args = concat(quantize(out, "hasvq-mid", "--block", 2, "--centroids", 256, "--sparsity", 0.01,
                "--codebook-scope", "model", "--kmeans-iters", 4), calib(4));
        CliRun r = CliRun.of(args);
        assertEquals(0, r.status(), r.toString());
        JsonNode q = JSON.readTree(r.out());
        assertEquals(Files.size(out), q.get("file_bytes").asLong());
        // b=2, K=256 → 8-bit indices = 4 bits per weight, +|Ω|·48 bits at ρ=0.01 (0.48), + codebook and scales
        double block = q.get("block_bpp").asDouble();
        assertTrue(block > 4.48 && block < 4.8, "block bpp " + block);
        assertTrue(r.err().contains("calibrate: 4/4 sequences"), r.err());

        CliRun inspect = CliRun.of("inspect", out, "--json");
        assertEquals(0, inspect.status(), inspect.toString());
        assertTrue(inspect.out().contains("\"layers\""), inspect.out());

        // the .jvq carries its tokenizer: eval needs no --tokenizer
        CliRun eval = CliRun.of("eval", "--model", out, "--text", Fixtures.tinyStories(), "--seq-len", 256, "--bos",
                "--skip-windows", 64, "--max-windows", 4, "--json");
        assertEquals(0, eval.status(), eval.toString());
        double ppl = JSON.readTree(eval.out()).get("ppl").asDouble();
        CliRun fp = CliRun.of("eval", "--model", Fixtures.model(), "--tokenizer", Fixtures.tokenizer(), "--text",
                Fixtures.tinyStories(), "--seq-len", 256, "--bos", "--skip-windows", 64, "--max-windows", 4, "--json");
        double fpPpl = JSON.readTree(fp.out()).get("ppl").asDouble();
        assertTrue(ppl > fpPpl * 0.98 && ppl < fpPpl * 1.5, "quantised " + ppl + " vs fp " + fpPpl);
    }

    @Test
    void sameSeedGivesIdenticalFilesOnOneAndTwoThreads(@TempDir Path dir) throws Exception {
        Path a = dir.resolve("a.jvq");
        Path b = dir.resolve("b.jvq");
        Object[] common = {"--block", 4, "--centroids", 128, "--kmeans-iters", 3, "--seed", 11};
        assertEquals(0, CliRun.of(concat(concat(quantize(a, "hasvq-mid", "--threads", 1), common), calib(2))).status());
        assertEquals(0, CliRun.of(concat(concat(quantize(b, "hasvq-mid", "--threads", 2), common), calib(2))).status());
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
    }

    @Test
    void rtnNeedsNoCalibration(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("r.jvq");
        CliRun r = CliRun.of(quantize(out, "rtn4-row"));
        assertEquals(0, r.status(), r.toString());
        assertEquals(4.21, JSON.readTree(r.out()).get("block_bpp").asDouble(), 0.005);
    }

    @Test
    void badInputIsOneLineAndLeavesNoFile(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("x.jvq");
        String[][] cases = {
            {"hasvq-low", "unknown quantisation method"},
            {"rtn9-g32", "bits must be in 2..8"},
        };
        for (String[] c : cases) {
            CliRun r = CliRun.of(quantize(out, c[0]));
            assertEquals(2, r.status(), r.toString());
            assertTrue(r.err().contains(c[1]) && r.err().strip().lines().count() == 1, r.err());
        }
        assertBad(quantize(out, "hasvq-mid", "--block", 0), "block");
        assertBad(quantize(out, "hasvq-mid", "--centroids", 1), "K");
        assertBad(quantize(out, "hasvq-mid", "--sparsity", 0.5), "sparsity");
        assertBad(quantize(out, "rtn4-row", "--block", 2), "apply to HAS-VQ");
        assertBad(quantize(out, "hasvq-mid"), "--calib FILE is required");
        assertBad(quantize(dir.resolve("no/such/dir/x.jvq"), "rtn4-row"), "does not exist");
        assertBad(concat(quantize(out, "hasvq-mid"), new Object[] {"--calib", Fixtures.tinyStories(), "--calib-len",
                4096}), "exceeds the model's context");
        assertFalse(Files.exists(out));
        try (var s = Files.list(dir)) {
            assertEquals(0, s.count(), "no temporary files left");
        }
    }

    @Test
    void corruptedFileIsRejectedByEval(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("r.jvq");
        assertEquals(0, CliRun.of(quantize(out, "rtn3-g32")).status());
        byte[] bytes = Files.readAllBytes(out);
        bytes[bytes.length / 2] ^= 0x40;
        Path bad = Files.write(dir.resolve("bad.jvq"), bytes);
        CliRun r = CliRun.of("eval", "--model", bad, "--text", Fixtures.tinyStories(), "--seq-len", 256);
        assertEquals(2, r.status(), r.toString());
        assertTrue(r.err().contains(bad.toString()) && r.err().contains("checksum"), r.err());
        Path cut = Files.write(dir.resolve("cut.jvq"), java.util.Arrays.copyOf(bytes, 1000));
        CliRun t = CliRun.of("inspect", cut);
        assertEquals(2, t.status(), t.toString());
        assertTrue(t.err().contains(cut.toString()), t.err());
    }

    private static void assertBad(Object[] args, String fragment) {
        CliRun r = CliRun.of(args);
        assertEquals(2, r.status(), r.toString());
        assertTrue(r.err().contains(fragment), r.toString());
        assertEquals(1, r.err().strip().lines().filter(l -> l.startsWith("jvq:")).count(), r.err());
    }

    static Object[] concat(Object[] a, Object[] b) {
        Object[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
