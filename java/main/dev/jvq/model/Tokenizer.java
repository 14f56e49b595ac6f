package dev.jvq.model;

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

    /** Decodes a whole sequence. */
    default String decode(int[] tokens) {
        StringBuilder sb = new StringBuilder();
        int prev = -1;
        for (int t : tokens) {
            sb.append(decodeToken(prev, t));
            prev = t;
        }
        return sb.toString();
    }
}
