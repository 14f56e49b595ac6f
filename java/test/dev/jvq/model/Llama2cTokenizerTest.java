package dev.jvq.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.JvqException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Llama2cTokenizerTest {
    private static final Llama2cTokenizer TOK = Llama2cTokenizer.load(Fixtures.tokenizer());

    @Test
    void readsTheVocabulary() {
        assertEquals(512, TOK.vocabSize());
        assertEquals(7, TOK.maxTokenLength());
        assertEquals(1, TOK.bosId());
        assertEquals(2, TOK.eosId());
        assertEquals(" t", new String(TOK.piece(259), StandardCharsets.UTF_8));
        assertEquals("<0x41>", new String(TOK.piece(0x41 + 3), StandardCharsets.UTF_8));
    }

    /** Ids computed by an independent Python port of run.c encode(). */
    @Test
    void encodesKnownIds() {
        assertArrayEquals(new int[] {403, 407, 261, 378}, TOK.encode("Once upon a time"));
        assertArrayEquals(new int[] {317, 439, 419, 400, 428}, TOK.encode("Lily's dog"));
        // 日本 is not in the vocabulary: byte fallback (byte + 3); € is a piece of its own.
        assertArrayEquals(new int[] {346, 306, 414, 432, 263, 304, 341, 443, 410, 233, 154, 168, 233, 159, 175, 410,
                503, 480}, TOK.encode("Hello, world! 日本 €5"));
        assertArrayEquals(new int[0], TOK.encode(""));
    }

    @Test
    void agreesWithTheNaiveRunCPortOnRandomExcerpts() throws IOException {
        NaiveRunCEncoder naive = new NaiveRunCEncoder(Fixtures.tokenizer());
        SplittableRandom rnd = new SplittableRandom(7);
        for (Path f : new Path[] {Fixtures.tinyStories(), Fixtures.wikiTest(), Fixtures.wikiTrain()}) {
            String text = Files.readString(f);
            for (int i = 0; i < 60; i++) {
                int from = rnd.nextInt(text.length() - 400);
                int to = from + 1 + rnd.nextInt(399);
                String s = text.substring(from, to);
                assertArrayEquals(naive.encode(s), TOK.encode(s), () -> f.getFileName() + " excerpt " + s);
            }
        }
        String tricky = "  double  spaces\n\nnewlines\ttabs <0x41> <s> ünïcödé 😀 end ";
        assertArrayEquals(naive.encode(tricky), TOK.encode(tricky));
    }

    @Test
    void roundTripsWholeFilesQuickly() throws IOException {
        for (Path f : new Path[] {Fixtures.tinyStories(), Fixtures.wikiTest()}) {
            String text = Files.readString(f);
            long t0 = System.nanoTime();
            int[] ids = TOK.encode(text);
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertTrue(ids.length > text.length() / 8, "suspiciously few tokens: " + ids.length);
            // The dummy prefix space comes back when decoding without BOS, and disappears after BOS.
            assertEquals(" " + text, TOK.decode(ids));
            int[] withBos = IntStream.concat(IntStream.of(TOK.bosId()), Arrays.stream(ids)).toArray();
            assertEquals("\n<s>\n" + text, TOK.decode(withBos));
            // A generous bound: the quadratic algorithm takes minutes on these files.
            assertTrue(seconds < 20, f + " took " + seconds + " s to encode");
        }
    }

    @Test
    void decodesBytePiecesAndStripsSpaceAfterBos() {
        assertArrayEquals(new byte[] {(byte) 0xE6}, TOK.decodeBytes(5, 0xE6 + 3));
        assertEquals("Once", TOK.decodeToken(TOK.bosId(), 403));
        assertEquals(" Once", TOK.decodeToken(7, 403));
        assertEquals("日本", TOK.decode(TOK.encode("日本")).substring(1));
        assertThrows(IllegalArgumentException.class, () -> TOK.decodeToken(0, 512));
    }

    @Test
    void rejectsBadFiles(@TempDir Path dir) throws IOException {
        byte[] good = Files.readAllBytes(Fixtures.tokenizer());
        Path truncated = dir.resolve("truncated.bin");
        Files.write(truncated, Arrays.copyOf(good, good.length - 3));
        JvqException e = assertThrows(JvqException.class, () -> Llama2cTokenizer.load(truncated));
        assertTrue(e.getMessage().startsWith(truncated + ": truncated"), e.getMessage());

        Path badLength = dir.resolve("badlen.bin");
        byte[] b = good.clone();
        b[8] = (byte) 0x7f; // length field of token 0 → huge
        Files.write(badLength, b);
        e = assertThrows(JvqException.class, () -> Llama2cTokenizer.load(badLength));
        assertTrue(e.getMessage().startsWith(badLength + ": token 0"), e.getMessage());

        Path missing = dir.resolve("missing.bin");
        e = assertThrows(JvqException.class, () -> Llama2cTokenizer.load(missing));
        assertEquals(missing + ": no such file", e.getMessage());

        Path empty = dir.resolve("empty.bin");
        Files.write(empty, new byte[0]);
        e = assertThrows(JvqException.class, () -> Llama2cTokenizer.load(empty));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"));
    }
}
