package dev.jvq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Utf8StreamTest {
    @Test
    void holdsBackSplitCharactersUntilComplete() {
        StringWriter sink = new StringWriter();
        Utf8Stream s = new Utf8Stream(new PrintWriter(sink));
        byte[] text = "a日本€ b".getBytes(StandardCharsets.UTF_8);
        s.write(new byte[] {text[0], text[1]}); // 'a' and the first byte of 日
        assertEquals("a", sink.toString());
        s.write(new byte[] {text[2]});
        assertEquals("a", sink.toString());
        s.write(new byte[] {text[3], text[4]}); // end of 日, start of 本
        assertEquals("a日", sink.toString());
        byte[] rest = java.util.Arrays.copyOfRange(text, 5, text.length);
        s.write(rest);
        s.finish();
        assertEquals("a日本€ b", sink.toString());
    }

    @Test
    void invalidAndDanglingBytesBecomeReplacementCharacters() {
        StringWriter sink = new StringWriter();
        Utf8Stream s = new Utf8Stream(new PrintWriter(sink));
        s.write(new byte[] {'x', (byte) 0xff, 'y', (byte) 0xE6});
        s.finish();
        assertEquals("x\uFFFDy\uFFFD", sink.toString());
    }
}
