package dev.jvq.runtime;

import dev.jvq.JvqException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.CharBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads evaluation and prompt text: strict UTF-8, non-empty, errors naming the file and the offset. */
public final class TextFile {
    private TextFile() {}

    public static String readUtf8(Path file) {
        byte[] bytes;
        try {
            if (Files.isDirectory(file)) {
                throw JvqException.badFile(file, "is a directory, not a text file");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw JvqException.badFile(file, "no such file");
        } catch (IOException e) {
            throw JvqException.badFile(file, "cannot read: " + e.getMessage());
        }
        if (bytes.length == 0) {
            throw JvqException.badFile(file, "empty text");
        }
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = d.decode(in, out, true);
        if (r.isError()) {
            throw JvqException.badFile(file, "not valid UTF-8 at byte offset " + in.position());
        }
        r = d.flush(out);
        if (r.isError()) {
            throw JvqException.badFile(file, "not valid UTF-8 at the end of the file");
        }
        out.flip();
        return out.toString();
    }
}
