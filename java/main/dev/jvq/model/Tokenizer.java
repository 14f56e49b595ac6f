package dev.jvq.model;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Text ⇄ token ids. Implementations: llama2.c tokenizer.bin, Hugging Face tokenizer.json. */
public interface Tokenizer {
    int vocabSize();

    /** Beginning-of-sequence id, or -1 when the vocabulary has none. */
    int bosId();

    /** End-of-sequence id, or -1. */
    int eosId();

    /** Encodes text (no BOS/EOS added; callers add BOS where a protocol asks for it). */
    int[] encode(String text);

    /** Decodes one token given the previous one (some formats strip a leading space after BOS). */
    String decodeToken(int prev, int token);

    /**
     * The UTF-8 bytes one token stands for. Byte-fallback and byte-level tokens can carry part of a
     * multi-byte character, so streaming output should decode these bytes incrementally rather than
     * concatenate {@link #decodeToken} strings.
     */
    default byte[] decodeBytes(int prev, int token) {
        return decodeToken(prev, token).getBytes(StandardCharsets.UTF_8);
    }

    /** Decodes a whole sequence (bytes joined first, so characters split across tokens survive). */
    default String decode(int[] tokens) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int prev = -1;
        for (int t : tokens) {
            bytes.writeBytes(decodeBytes(prev, t));
            prev = t;
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
