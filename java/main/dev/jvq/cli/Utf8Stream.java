package dev.jvq.cli;

import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Prints token bytes as text as soon as they form whole characters: a character split across
 * byte-fallback tokens is held back until its last byte arrives; invalid bytes print as U+FFFD.
 */
final class Utf8Stream {
    private final PrintWriter out;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    private ByteBuffer pending = ByteBuffer.allocate(64);
    private final CharBuffer chars = CharBuffer.allocate(256);

    Utf8Stream(PrintWriter out) {
        this.out = out;
    }

    void write(byte[] bytes) {
        if (pending.remaining() < bytes.length) {
            ByteBuffer bigger = ByteBuffer.allocate(pending.capacity() + bytes.length * 2);
            pending.flip();
            bigger.put(pending);
            pending = bigger;
        }
        pending.put(bytes);
        drain(false);
    }

    void finish() {
        drain(true);
        decoder.flush(chars);
        emit();
    }

    private void drain(boolean end) {
        pending.flip();
        while (true) {
            boolean overflow = decoder.decode(pending, chars, end).isOverflow();
            emit();
            if (!overflow) {
                break;
            }
        }
        pending.compact();
        out.flush();
    }

    private void emit() {
        chars.flip();
        out.append(chars);
        chars.clear();
    }
}
