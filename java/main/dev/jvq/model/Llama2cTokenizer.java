package dev.jvq.model;

import dev.jvq.JvqException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.HashMap;
import java.util.Map;

/**
 * The llama2.c {@code tokenizer.bin} vocabulary (SentencePiece BPE exported with scores), encoding
 * and decoding exactly like llama2.c's run.c.
 *
 * <p>Encoding: a dummy-prefix {@code " "} token when the text is non-empty; each UTF-8 code point
 * becomes its piece, or one byte-fallback token (byte + 3) per byte; then the adjacent pair whose
 * concatenation is a piece with the highest score merges (leftmost on ties), until none does.
 * run.c rescans the whole sequence per merge; here candidate pairs sit in a heap ordered by
 * (score, position) with stale entries skipped when popped, so a 1 MB text encodes in O(n log n).
 */
public final class Llama2cTokenizer implements Tokenizer {
    /** run.c ignores merges scoring at or below its initial best score. */
    private static final float MIN_SCORE = -1e10f;
    private static final int BOS = 1;
    private static final int EOS = 2;
    private static final int BYTE_FALLBACK_OFFSET = 3;

    private final Path source;
    private final int maxTokenLength;
    private final byte[][] pieces;
    private final float[] scores;
    /** piece bytes (as ISO-8859-1 text) → the id run.c's str_lookup finds: the first with that text. */
    private final Map<String, Integer> ids;
    /** (left id << 32 | right id) → id of the concatenated piece. */
    private final Map<Long, Integer> merges;
    /** Memo of single code point → piece id (or -1: byte fallback). */
    private final Map<Integer, Integer> codePointIds = new ConcurrentHashMap<>();
    private final int spaceId;

    private Llama2cTokenizer(Path source, int maxTokenLength, byte[][] pieces, float[] scores) {
        this.source = source;
        this.maxTokenLength = maxTokenLength;
        this.pieces = pieces;
        this.scores = scores;
        this.ids = new HashMap<>(pieces.length * 2);
        for (int i = 0; i < pieces.length; i++) {
            ids.putIfAbsent(key(pieces[i], 0, pieces[i].length), i);
        }
        this.merges = new HashMap<>(pieces.length * 4);
        for (int i = 0; i < pieces.length; i++) {
            byte[] p = pieces[i];
            Integer merged = ids.get(key(p, 0, p.length));
            for (int k = 1; k < p.length; k++) {
                Integer a = ids.get(key(p, 0, k));
                Integer b = ids.get(key(p, k, p.length));
                if (a != null && b != null) {
                    merges.putIfAbsent(pair(a, b), merged);
                }
            }
        }
        Integer space = ids.get(" ");
        this.spaceId = space != null ? space : ' ' + BYTE_FALLBACK_OFFSET;
    }

    /** Reads a tokenizer.bin: int32 max_token_length, then (float32 score, int32 len, len bytes) until the end. */
    public static Llama2cTokenizer load(Path file) {
        byte[] all;
        try {
            if (Files.isDirectory(file)) {
                throw JvqException.badFile(file, "is a directory, not a llama2.c tokenizer.bin");
            }
            all = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw JvqException.badFile(file, "no such file");
        } catch (IOException e) {
            throw JvqException.badFile(file, "cannot read: " + e.getMessage());
        }
        return parse(file, all);
    }

    /** Parses the bytes of a tokenizer.bin; {@code file} names them in messages. */
    public static Llama2cTokenizer parse(Path file, byte[] all) {
        ByteBuffer buf = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        if (buf.remaining() < 4) {
            throw JvqException.badFile(file, "truncated: expected at least 4 bytes (max_token_length), found "
                    + all.length);
        }
        int maxLen = buf.getInt();
        if (maxLen <= 0 || maxLen > 1 << 16) {
            throw JvqException.badFile(file, "not a llama2.c tokenizer: max_token_length " + maxLen);
        }
        byte[][] pieces = new byte[Math.max(16, all.length / 9)][];
        float[] scores = new float[pieces.length];
        int n = 0;
        while (buf.hasRemaining()) {
            if (buf.remaining() < 8) {
                throw JvqException.badFile(file, "truncated: token " + n + " needs 8 header bytes at offset "
                        + buf.position() + ", found " + buf.remaining());
            }
            float score = buf.getFloat();
            int len = buf.getInt();
            if (len < 0 || len > maxLen) {
                throw JvqException.badFile(file, "token " + n + " at offset " + (buf.position() - 8) + " has length "
                        + len + " (max_token_length " + maxLen + ")");
            }
            if (buf.remaining() < len) {
                throw JvqException.badFile(file, "truncated: token " + n + " needs " + len + " bytes at offset "
                        + buf.position() + ", found " + buf.remaining());
            }
            byte[] piece = new byte[len];
            buf.get(piece);
            pieces[n] = piece;
            scores[n] = score;
            n++;
        }
        if (n <= EOS) {
            throw JvqException.badFile(file, "only " + n + " tokens; a llama2.c vocabulary has <unk>, BOS and EOS first");
        }
        return new Llama2cTokenizer(file, maxLen, Arrays.copyOf(pieces, n), Arrays.copyOf(scores, n));
    }

    public Path source() {
        return source;
    }

    public int maxTokenLength() {
        return maxTokenLength;
    }

    /** The raw bytes of a piece (with its leading space, byte pieces as "<0xHH>"). */
    public byte[] piece(int id) {
        return pieces[id].clone();
    }

    public float score(int id) {
        return scores[id];
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public int bosId() {
        return BOS;
    }

    @Override
    public int eosId() {
        return EOS;
    }

    @Override
    public int[] encode(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        if (b.length == 0) {
            return new int[0];
        }
        // Initial tokens: dummy prefix, then one piece per code point or one fallback per byte.
        int[] tok = new int[b.length + 1];
        int n = 0;
        tok[n++] = spaceId;
        int i = 0;
        while (i < b.length) {
            int len = 1;
            while (i + len < b.length && len < 4 && (b[i + len] & 0xC0) == 0x80) {
                len++;
            }
            int id = codePointId(b, i, len);
            if (id >= 0) {
                tok[n++] = id;
            } else {
                for (int j = 0; j < len; j++) {
                    tok[n++] = (b[i + j] & 0xff) + BYTE_FALLBACK_OFFSET;
                }
            }
            i += len;
        }
        return merge(tok, n);
    }

    private int codePointId(byte[] b, int off, int len) {
        int cp = 0;
        for (int j = 0; j < len; j++) {
            cp = cp << 8 | (b[off + j] & 0xff);
        }
        // Up to 4 bytes pack into an int; a lone byte and a 4-byte sequence cannot collide as the
        // leading byte of a multi-byte sequence is never 0.
        return codePointIds.computeIfAbsent(cp, k -> {
            Integer id = ids.get(key(b, off, off + len));
            return id == null ? -1 : id;
        });
    }

    /** Highest-score-first, leftmost-on-ties BPE merging over a linked list of n tokens. */
    private int[] merge(int[] tok, int n) {
        int[] next = new int[n];
        int[] prev = new int[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        LongHeap heap = new LongHeap(n);
        for (int i = 0; i + 1 < n; i++) {
            push(heap, tok, i, i + 1);
        }
        int alive = n;
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int left = (int) top;
            int right = next[left];
            if (right < 0 || prev[left] == -2) {
                continue; // left was absorbed, or is now last
            }
            Integer merged = merges.get(pair(tok[left], tok[right]));
            if (merged == null || (int) (top >> 32) != descendingKey(scores[merged])) {
                continue; // stale: the pair at this position changed since the entry was pushed
            }
            tok[left] = merged;
            int after = next[right];
            next[left] = after;
            if (after >= 0) {
                prev[after] = left;
            }
            prev[right] = -2; // mark absorbed
            alive--;
            if (prev[left] >= 0) {
                push(heap, tok, prev[left], left);
            }
            if (after >= 0) {
                push(heap, tok, left, after);
            }
        }
        int[] out = new int[alive];
        int k = 0;
        for (int i = 0; i >= 0; i = next[i]) {
            out[k++] = tok[i];
        }
        return out;
    }

    private void push(LongHeap heap, int[] tok, int left, int right) {
        Integer merged = merges.get(pair(tok[left], tok[right]));
        if (merged != null && scores[merged] > MIN_SCORE) {
            heap.push((long) descendingKey(scores[merged]) << 32 | left);
        }
    }

    /** An int that orders like the float score, reversed (higher score → smaller key); -0.0 equals 0.0. */
    private static int descendingKey(float score) {
        int bits = Float.floatToIntBits(score + 0.0f);
        int ordered = bits ^ ((bits >> 31) & 0x7fffffff);
        return ~ordered;
    }

    @Override
    public String decodeToken(int prev, int token) {
        return new String(decodeBytes(prev, token), StandardCharsets.UTF_8);
    }

    /**
     * The bytes a token stands for, as run.c's decode: the piece, minus its leading space right after
     * BOS; a {@code <0xHH>} piece is the raw byte 0xHH (which may be part of a multi-byte character).
     */
    @Override
    public byte[] decodeBytes(int prev, int token) {
        if (token < 0 || token >= pieces.length) {
            throw new IllegalArgumentException("token id " + token + " outside the vocabulary of " + pieces.length
                    + " (" + source + ")");
        }
        byte[] p = pieces[token];
        int start = prev == BOS && p.length > 0 && p[0] == ' ' ? 1 : 0;
        if (p.length - start == 6 && p[start] == '<' && p[start + 1] == '0' && p[start + 2] == 'x'
                && p[start + 5] == '>') {
            int hi = Character.digit(p[start + 3], 16);
            int lo = Character.digit(p[start + 4], 16);
            if (hi >= 0 && lo >= 0) {
                return new byte[] {(byte) (hi << 4 | lo)};
            }
        }
        return Arrays.copyOfRange(p, start, p.length);
    }

    private static String key(byte[] b, int from, int to) {
        return new String(b, from, to - from, StandardCharsets.ISO_8859_1);
    }

    private static long pair(int a, int b) {
        return (long) a << 32 | (b & 0xffffffffL);
    }

    @Override
    public String toString() {
        return "Llama2cTokenizer(" + source + ", " + pieces.length + " tokens)";
    }

    /** A binary min-heap of longs (no boxing: a 1 MB text pushes millions of candidates). */
    private static final class LongHeap {
        private long[] a;
        private int size;

        LongHeap(int capacity) {
            a = new long[Math.max(16, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void push(long v) {
            if (size == a.length) {
                a = Arrays.copyOf(a, a.length * 2);
            }
            int i = size++;
            while (i > 0) {
                int p = (i - 1) >>> 1;
                if (a[p] <= v) {
                    break;
                }
                a[i] = a[p];
                i = p;
            }
            a[i] = v;
        }

        long pop() {
            long top = a[0];
            long last = a[--size];
            int i = 0;
            int half = size >>> 1;
            while (i < half) {
                int c = 2 * i + 1;
                if (c + 1 < size && a[c + 1] < a[c]) {
                    c++;
                }
                if (last <= a[c]) {
                    break;
                }
                a[i] = a[c];
                i = c;
            }
            if (size > 0) {
                a[i] = last;
            }
            return top;
        }
    }
}
