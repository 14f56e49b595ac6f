package dev.jvq.model;

/** Character classes as the Rust tokenizers library sees them (Rust's char methods, not Java's). */
final class HfText {
    private HfText() {}

    /**
     * Rust's char::is_whitespace, the Unicode White_Space property. Java's isWhitespace differs: it
     * omits the no-break spaces and NEL, and adds the separators U+001C..U+001F.
     */
    static boolean isWhitespace(int cp) {
        if (cp >= 0x1C && cp <= 0x1F) {
            return false;
        }
        return Character.isWhitespace(cp) || cp == 0x85 || cp == 0xA0 || cp == 0x2007 || cp == 0x202F;
    }

    /** A "word" character for added tokens marked single_word: letters, digits, underscore. */
    static boolean isWordChar(int cp) {
        return Character.isLetterOrDigit(cp) || cp == '_';
    }
}
