package dev.jvq.calib;

import dev.jvq.JvqException;
import dev.jvq.model.Tokenizer;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Token sequences used to calibrate a quantiser.
 *
 * <p>Two recipes (ALGORITHMS.md sections 1 and 7):
 * <ul>
 *   <li>{@link #paper}: the first {@code lines} lines of the text joined with "\n\n", tokenised once,
 *       cut into {@code count} non-overlapping sequences of {@code length} tokens (paper protocol:
 *       WikiText-2 raw train, 1000 lines, 128 × 1024);</li>
 *   <li>{@link #bosWindows}: the whole text tokenised once and cut like {@code jvq eval --bos}: each
 *       sequence is BOS followed by the next length−1 text tokens (the fixture protocol: windows
 *       0..63 of 256 tokens).</li>
 * </ul>
 */
public record CalibrationSet(String source, List<int[]> sequences) {

    public CalibrationSet {
        sequences = List.copyOf(sequences);
    }

    public int count() {
        return sequences.size();
    }

    public long tokens() {
        return sequences.stream().mapToLong(s -> s.length).sum();
    }

    /** Paper protocol: first {@code lines} lines joined with "\n\n", cut into count × length. */
    public static CalibrationSet paper(Path text, Tokenizer tok, int lines, int count, int length) {
        checkShape(text, count, length);
        String[] all = readText(text).split("\n", -1);
        List<String> kept = new ArrayList<>();
        for (int i = 0; i < all.length && kept.size() < lines; i++) {
            kept.add(all[i]);
        }
        int[] ids = tok.encode(String.join("\n\n", kept));
        return cut(text, ids, count, length, -1);
    }

    /** BOS windows: sequence w = BOS + text tokens [w·(L−1), (w+1)·(L−1)). */
    public static CalibrationSet bosWindows(Path text, Tokenizer tok, int count, int length) {
        checkShape(text, count, length);
        if (tok.bosId() < 0) {
            throw new JvqException(text + ": BOS calibration windows need a tokenizer with a BOS token");
        }
        int[] ids = tok.encode(readText(text));
        return cut(text, ids, count, length, tok.bosId());
    }

    private static CalibrationSet cut(Path text, int[] ids, int count, int length, int bos) {
        int body = bos >= 0 ? length - 1 : length;
        int available = ids.length / body;
        if (available == 0) {
            throw JvqException.badFile(text, "only " + ids.length + " tokens: not one calibration sequence of "
                    + length + " tokens");
        }
        int n = Math.min(count, available);
        if (n < count) {
            System.err.printf("jvq: %s: %d tokens give %d calibration sequences of %d, not %d%n",
                    text, ids.length, n, length, count);
        }
        List<int[]> seqs = new ArrayList<>(n);
        for (int w = 0; w < n; w++) {
            int[] s = new int[length];
            int off = 0;
            if (bos >= 0) {
                s[off++] = bos;
            }
            System.arraycopy(ids, w * body, s, off, body);
            seqs.add(s);
        }
        return new CalibrationSet(text.toString(), seqs);
    }

    private static void checkShape(Path text, int count, int length) {
        if (count < 1) {
            throw new JvqException("--calib-seqs must be at least 1, got " + count);
        }
        if (length < 2) {
            throw new JvqException("--calib-len must be at least 2, got " + length);
        }
    }

    /** Reads a UTF-8 text file strictly (malformed input and empty files are errors). */
    public static String readText(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new JvqException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (bytes.length == 0) {
            throw JvqException.badFile(file, "empty text");
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw JvqException.badFile(file, "not UTF-8 text");
        }
    }

    @Override
    public String toString() {
        return count() + " sequences (" + tokens() + " tokens) from " + source
                + (sequences.isEmpty() ? "" : " first=" + Arrays.toString(Arrays.copyOf(sequences.get(0), 4)));
    }
}
