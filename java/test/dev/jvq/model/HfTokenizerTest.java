package dev.jvq.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.JvqException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Small hand-made tokenizer.json files of both families, with encodings worked out by hand from
 * the merge ranks (the derivations are in the comments).
 */
class HfTokenizerTest {
    @TempDir
    Path dir;

    /** GPT-2 style: ByteLevel pre-tokenizer with the GPT-2 split, "a b" merges, ByteLevel decoder. */
    static final String GPT2 = """
            {"version": "1.0",
             "added_tokens": [{"id": 0, "content": "<|endoftext|>", "single_word": false, "lstrip": false,
                               "rstrip": false, "normalized": false, "special": true}],
             "normalizer": null,
             "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
             "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
             "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
             "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": "",
                       "end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
               "vocab": {"<|endoftext|>": 0, "h": 1, "e": 2, "l": 3, "o": 4, "Ġ": 5, "w": 6, "r": 7, "d": 8,
                         "!": 9, "'": 10, "s": 11, "t": 12, "Ċ": 13, "1": 14, "2": 15, "3": 16, "Ã": 17, "©": 18,
                         "c": 19, "a": 20, "f": 21, "he": 22, "ll": 23, "hell": 24, "hello": 25, "Ġw": 26,
                         "or": 27, "Ġwor": 28, "Ġworl": 29, "Ġworld": 30, "Ã©": 31, "ca": 32, "caf": 33,
                         "cafÃ©": 34, "12": 35, "'s": 36},
               "merges": ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "Ġwor l", "Ġworl d", "Ã ©",
                          "c a", "ca f", "caf Ã©", "1 2", "' s"]}}
            """;

    @Test
    void gpt2ByteLevel() throws IOException {
        HfTokenizer tok = load(GPT2);
        // "hello" "Ġworld" "!": h e→he (rank 0), l l→ll (1), he ll (2), hell o (3); Ġ w (4), o r (5),
        // Ġw or (6), l (7), d (8).
        assertArrayEquals(new int[] {25, 30, 9}, tok.encode("hello world!"));
        // Split: "café" "'s" " 123" "\n" | <|endoftext|> | "hello". é is bytes C3 A9 = "Ã©" (rank 9), then
        // c a (10), ca f (11), caf Ã© (12); "'s" (14); "Ġ123": 1 2 (13) → Ġ, 12, 3; "\n" = Ċ.
        int[] ids = tok.encode("café's 123\n<|endoftext|>hello");
        assertArrayEquals(new int[] {34, 36, 5, 35, 16, 13, 0, 25}, ids);
        assertEquals("café's 123\nhello", tok.decode(ids), "special tokens are skipped when decoding");
        assertEquals(0, tok.bosId());
        assertEquals(0, tok.eosId());
        assertEquals(37, tok.vocabSize());
        assertFalse(tok.addsBos());
        // No space is stripped from byte-level text, first token or not.
        assertEquals(" world", tok.decodeToken(-1, 30));
        assertArrayEquals(new int[0], tok.encode(""));
    }

    @Test
    void byteLevelTokensMaySplitACharacter() throws IOException {
        HfTokenizer tok = load(GPT2);
        // "é" alone is a merged token, but its bytes can also arrive as two tokens (17 = Ã, 18 = ©):
        // each half is not text on its own; the sequence decodes to the character.
        assertArrayEquals(new byte[] {(byte) 0xC3}, tok.decodeBytes(5, 17));
        assertArrayEquals(new byte[] {(byte) 0xA9}, tok.decodeBytes(17, 18));
        assertEquals("é", tok.decode(new int[] {17, 18}));
    }

    /** Llama 3 style: Split with Llama 3's regex, then ByteLevel without regex; [a, b] merges; ignore_merges. */
    static final String LLAMA3 = """
            {"version": "1.0",
             "added_tokens": [
               {"id": 0, "content": "<|begin_of_text|>", "single_word": false, "lstrip": false, "rstrip": false,
                "normalized": false, "special": true},
               {"id": 1, "content": "<|end_of_text|>", "single_word": false, "lstrip": false, "rstrip": false,
                "normalized": false, "special": true}],
             "normalizer": null,
             "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
               {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+"},
                "behavior": "Isolated", "invert": false},
               {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
             "post_processor": {"type": "Sequence", "processors": [
               {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
               {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [], "special_tokens": {}}]},
             "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
             "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                       "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": true,
               "vocab": {"<|begin_of_text|>": 0, "<|end_of_text|>": 1, "I": 2, "'": 3, "L": 4, "Ġ": 5, "p": 6, "a": 7,
                         "y": 8, "1": 9, "2": 10, "3": 11, "4": 12, "5": 13, "n": 14, "o": 15, "w": 16, "Ċ": 17,
                         "k": 18, "LL": 19, "'LL": 20, "Ġp": 21, "ay": 22, "Ġpay": 23, "12": 24, "123": 25,
                         "ĊĊ": 26, "Ġnow": 27, "Ġo": 28, "Ġok": 29},
               "merges": [["L", "L"], ["'", "LL"], ["a", "y"], ["Ġ", "p"], ["Ġp", "ay"], ["1", "2"], ["12", "3"],
                          ["Ċ", "Ċ"], ["Ġ", "o"], ["Ġo", "k"]]}}
            """;

    @Test
    void llama3SplitThenByteLevel() throws IOException {
        HfTokenizer tok = load(LLAMA3);
        // Llama 3's split of "I'LL pay 12345 now\n\n  ok": "I" "'LL" (case-insensitive contraction) " pay"
        // " " (a space before digits stands alone) "123" "45" (digits in threes) " now" "\n\n" " " " ok".
        // "Ġnow" is in the vocabulary although no merge builds it: ignore_merges takes it whole.
        int[] ids = tok.encode("<|begin_of_text|>I'LL pay 12345 now\n\n  ok");
        assertArrayEquals(new int[] {0, 2, 20, 23, 5, 25, 12, 13, 27, 26, 5, 29}, ids);
        assertEquals("I'LL pay 12345 now\n\n  ok", tok.decode(ids));
        assertEquals(0, tok.bosId());
        assertEquals(1, tok.eosId());
        assertTrue(tok.addsBos(), "the template starts with <|begin_of_text|>");
    }

    @Test
    void withoutIgnoreMergesAWordIsBuiltFromItsMerges() throws IOException {
        HfTokenizer tok = load(LLAMA3.replace("\"ignore_merges\": true", "\"ignore_merges\": false"));
        // No merge joins Ġ, n, o, w: the characters stay apart.
        assertArrayEquals(new int[] {5, 14, 15, 16}, tok.encode(" now"));
    }

    /** Llama 2 style: Prepend + Replace normalizer, no pre-tokenizer, byte fallback, SentencePiece decoder chain. */
    static String llama2(String normalizerAndPre, String decoder) {
        StringBuilder vocab = new StringBuilder("\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2");
        for (int b = 0; b < 256; b++) {
            vocab.append(String.format(", \"<0x%02X>\": %d", b, 3 + b));
        }
        String[] pieces = {"▁", "t", "h", "e", "▁t", "he", "▁the", "c", "a", "▁c", "at", "▁cat", "s", "."};
        for (int i = 0; i < pieces.length; i++) {
            vocab.append(", \"").append(pieces[i]).append("\": ").append(259 + i);
        }
        return """
                {"version": "1.0",
                 "added_tokens": [
                   {"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                   {"id": 1, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                   {"id": 2, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
                 %s,
                 "post_processor": {"type": "TemplateProcessing",
                   "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                   "pair": [], "special_tokens": {}},
                 "decoder": %s,
                 "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
                   "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true,
                   "vocab": {%s},
                   "merges": ["▁ t", "h e", "▁t he", "a t", "▁ c", "▁c at"]}}
                """.formatted(normalizerAndPre, decoder, vocab);
    }

    static final String LLAMA2_NORMALIZER = """
            "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "Prepend", "prepend": "▁"},
                {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
            "pre_tokenizer": null""";

    static final String LLAMA2_DECODER = """
            {"type": "Sequence", "decoders": [
                {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                {"type": "ByteFallback"}, {"type": "Fuse"},
                {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}""";

    @Test
    void llama2SentencePieceBpe() throws IOException {
        HfTokenizer tok = load(llama2(LLAMA2_NORMALIZER, LLAMA2_DECODER));
        // "▁the▁cat▁sat." is one word: ▁ t (rank 0) → ▁t; h e (1) → he; ▁t he (2) → ▁the; a t (3) twice
        // (c·at, s·at); ▁ c (4) → ▁c; ▁c at (5) → ▁cat. Left: ▁the ▁cat ▁ s at .
        int[] ids = tok.encode("the cat sat.");
        assertArrayEquals(new int[] {265, 270, 259, 271, 269, 272}, ids);
        assertEquals("the cat sat.", tok.decode(ids), "the dummy-prefix space is stripped");
        assertEquals(" cat", tok.decodeToken(265, 270));
        assertEquals("the", tok.decodeToken(1, 265), "after BOS the leading space goes");
        assertEquals(1, tok.bosId());
        assertEquals(2, tok.eosId());
        assertTrue(tok.addsBos());
        assertEquals(273, tok.vocabSize());
    }

    @Test
    void llama2ByteFallbackAndSpecialTokens() throws IOException {
        HfTokenizer tok = load(llama2(LLAMA2_NORMALIZER, LLAMA2_DECODER));
        // <s> is cut out first; the rest is normalised on its own: "▁tea▁é\n". e, a and ▁ have no merge
        // with their neighbours; é (C3 A9) and \n are not pieces, so they fall back to <0xC3> <0xA9> <0x0A>
        // (ids 3 + byte).
        int[] ids = tok.encode("<s>tea é\n");
        assertArrayEquals(new int[] {1, 263, 262, 267, 259, 3 + 0xC3, 3 + 0xA9, 3 + 0x0A}, ids);
        assertEquals("tea é\n", tok.decode(ids));
        // A character outside the vocabulary whose bytes all have fallback tokens never becomes <unk>.
        assertArrayEquals(new int[] {259, 3 + 0xF0, 3 + 0x9F, 3 + 0x98, 3 + 0x80}, tok.encode("😀"));
        assertEquals("😀", tok.decode(tok.encode("😀")));
    }

    @Test
    void unknownCharactersWithoutByteFallbackFuseIntoOneUnk() throws IOException {
        HfTokenizer tok = load(llama2(LLAMA2_NORMALIZER, LLAMA2_DECODER).replace("\"byte_fallback\": true",
                "\"byte_fallback\": false"));
        // x and y are unknown: fuse_unk makes the run "xy" a single <unk>; then ▁ t (rank 0) → ▁t.
        int[] ids = tok.encode("xy t");
        assertArrayEquals(new int[] {259, 0, 263}, ids);
        // Decoding skips <unk>; only the very first token loses its leading space.
        assertEquals(" t", tok.decode(ids));
    }

    @Test
    void metaspacePreTokenizerWithFirstScheme() throws IOException {
        String pre = """
                "normalizer": null,
                "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}""";
        String dec = """
                {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}""";
        HfTokenizer tok = load(llama2(pre, dec));
        // At the start of the text "▁" is prepended: ▁the ▁cat.
        assertArrayEquals(new int[] {265, 270}, tok.encode("the cat"));
        // After <s> the text does not start the input, so no "▁": t, h e → he (rank 1), a t (3), ▁ c (4),
        // ▁c at (5) → t he ▁cat.
        assertArrayEquals(new int[] {1, 260, 264, 270}, tok.encode("<s>the cat"));
        assertEquals("the cat", tok.decode(new int[] {265, 270}));
        // The reference's Metaspace decoder drops every marker of the first token, not only one.
        assertEquals("", tok.decode(new int[] {259}));
        assertEquals(" the", tok.decode(new int[] {259, 265}));
    }

    @Test
    void bosAndEosFromTokenizerConfig() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), GPT2);
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"add_bos_token": true, "bos_token": {"__type": "AddedToken", "content": "hello"},
                 "eos_token": "<|endoftext|>"}""");
        HfTokenizer tok = HfTokenizer.load(dir);
        assertEquals(25, tok.bosId());
        assertEquals(0, tok.eosId());
        assertTrue(tok.addsBos());
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<nope>\"}");
        JvqException e = assertThrows(JvqException.class, () -> HfTokenizer.load(dir));
        assertEquals(dir.resolve("tokenizer_config.json") + ": bos_token '<nope>' is not in the tokenizer",
                e.getMessage());
        Files.delete(dir.resolve("tokenizer_config.json"));
        Files.writeString(dir.resolve("config.json"), "{\"bos_token_id\": 22, \"eos_token_id\": [36, 0]}");
        tok = HfTokenizer.load(dir.resolve("tokenizer.json"));
        assertEquals(22, tok.bosId());
        assertEquals(36, tok.eosId());
    }

    @Test
    void addedTokenOptions() throws IOException {
        String json = GPT2.replace("""
                "added_tokens": [""", """
                "added_tokens": [{"id": 37, "content": "wor", "single_word": true, "lstrip": true, "rstrip": true,
                                  "normalized": false, "special": false},""");
        HfTokenizer tok = load(json);
        // "wor" inside "world" is not a single word: left to BPE. As a word it absorbs the spaces around it.
        assertArrayEquals(new int[] {30}, tok.encode(" world"));
        assertArrayEquals(new int[] {25, 37, 9}, tok.encode("hello wor  !"));
        assertEquals(38, tok.vocabSize());
        assertEquals("wor", tok.token(37));
    }

    @Test
    void malformedTokenizerJsonIsOneLine() throws IOException {
        assertEquals("unsupported tokenizer model type 'Unigram' (supported: BPE)",
                loadFailure(GPT2.replace("\"type\": \"BPE\"", "\"type\": \"Unigram\"")));
        assertEquals("merge 3 (hell + o): 'hello' is not in the vocabulary",
                loadFailure(GPT2.replace("\"hello\": 25,", "")));
        assertEquals("merge 1 'l l l' is not two tokens separated by one space",
                loadFailure(GPT2.replace("\"l l\"", "\"l l l\"")));
        assertEquals("unsupported pre_tokenizer type 'BertPreTokenizer'",
                loadFailure(GPT2.replace("\"type\": \"ByteLevel\", \"add_prefix_space\": false",
                        "\"type\": \"BertPreTokenizer\", \"add_prefix_space\": false")));
        assertTrue(loadFailure(LLAMA3.replace("(?i:", "(?i")).startsWith("Split pre_tokenizer: cannot compile regex"));
        assertTrue(loadFailure("{\"model\": ").startsWith("malformed JSON"));
        assertEquals("vocab: tokens 'e' and 'h' share id 1",
                loadFailure(GPT2.replace("\"e\": 2", "\"e\": 1")).replace("'h' and 'e'", "'e' and 'h'"));
    }

    @Test
    void charactersOutsideTheVocabularyWithoutUnkAreDroppedAsTheReferenceDoes() throws IOException {
        HfTokenizer tok = load(GPT2);
        assertArrayEquals(new int[] {4, 4}, tok.encode("zoo"));
    }

    private HfTokenizer load(String json) throws IOException {
        Path p = dir.resolve("tokenizer.json");
        Files.writeString(p, json, StandardCharsets.UTF_8);
        return HfTokenizer.load(p);
    }

    private String loadFailure(String json) throws IOException {
        Path p = dir.resolve("tokenizer.json");
        Files.writeString(p, json, StandardCharsets.UTF_8);
        JvqException e = assertThrows(JvqException.class, () -> HfTokenizer.load(p));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
        return e.getMessage().substring(p.toString().length() + 2);
    }
}
