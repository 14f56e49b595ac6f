package dev.jvq.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jvq.JvqException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The BPE {@code model} of a tokenizer.json: a vocabulary and a ranked list of merges. A word is
 * split into characters (each its vocabulary id; with byte_fallback, an unknown character becomes
 * one {@code <0xHH>} token per UTF-8 byte; otherwise the unk token), then the adjacent pair with the
 * lowest merge rank is merged, leftmost first among equals, until no listed pair remains. A priority
 * queue keeps this O(n log n), which matters because SentencePiece-style tokenizers have no
 * pre-tokenizer and hand whole paragraphs to BPE as one "word".
 */
final class HfBpeModel {
    private final Map<String, Integer> vocab;
    private final String[] idToToken;
    private final PairMap merges;
    private final int unkId;
    private final boolean fuseUnk;
    private final int[] byteIds;
    private final boolean ignoreMerges;
    /** Encodings of short words, which repeat a lot in byte-level tokenizers. */
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();
    private static final int CACHE_WORD_CHARS = 48;
    private static final int CACHE_ENTRIES = 1 << 17;

    private HfBpeModel(Map<String, Integer> vocab, String[] idToToken, PairMap merges, int unkId, boolean fuseUnk,
            int[] byteIds, boolean ignoreMerges) {
        this.vocab = vocab;
        this.idToToken = idToToken;
        this.merges = merges;
        this.unkId = unkId;
        this.fuseUnk = fuseUnk;
        this.byteIds = byteIds;
        this.ignoreMerges = ignoreMerges;
    }

    static HfBpeModel of(JsonNode model, Object source) {
        if (model == null || !model.isObject()) {
            throw JvqException.badFile(source, "no \"model\" object");
        }
        String type = model.has("type") ? model.get("type").asText() : "BPE";
        if (!type.equals("BPE")) {
            throw JvqException.badFile(source, "unsupported tokenizer model type '" + type + "' (supported: BPE)");
        }
        for (String key : new String[] {"continuing_subword_prefix", "end_of_word_suffix"}) {
            JsonNode v = model.get(key);
            if (v != null && !v.isNull() && !v.asText().isEmpty()) {
                throw JvqException.badFile(source, "BPE " + key + " '" + v.asText() + "' is not supported");
            }
        }
        JsonNode dropout = model.get("dropout");
        if (dropout != null && !dropout.isNull() && dropout.asDouble() > 0) {
            throw JvqException.badFile(source, "BPE dropout " + dropout + " is not supported (it makes encoding random)");
        }
        JsonNode v = model.get("vocab");
        if (v == null || !v.isObject()) {
            throw JvqException.badFile(source, "model: \"vocab\" is not an object");
        }
        Map<String, Integer> vocab = new HashMap<>(v.size() * 2);
        int maxId = -1;
        for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode id = e.getValue();
            if (!id.isIntegralNumber() || !id.canConvertToInt() || id.intValue() < 0) {
                throw JvqException.badFile(source, "vocab: id of '" + e.getKey() + "' is not a non-negative integer");
            }
            vocab.put(e.getKey(), id.intValue());
            maxId = Math.max(maxId, id.intValue());
        }
        String[] idToToken = new String[maxId + 1];
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            if (idToToken[e.getValue()] != null) {
                throw JvqException.badFile(source, "vocab: tokens '" + idToToken[e.getValue()] + "' and '" + e.getKey()
                        + "' share id " + e.getValue());
            }
            idToToken[e.getValue()] = e.getKey();
        }
        PairMap merges = readMerges(model.get("merges"), vocab, source);
        int unkId = -1;
        JsonNode unk = model.get("unk_token");
        if (unk != null && !unk.isNull()) {
            Integer id = vocab.get(unk.asText());
            if (id == null) {
                throw JvqException.badFile(source, "unk_token '" + unk.asText() + "' is not in the vocabulary");
            }
            unkId = id;
        }
        int[] byteIds = null;
        if (model.path("byte_fallback").asBoolean(false)) {
            byteIds = new int[256];
            for (int b = 0; b < 256; b++) {
                Integer id = vocab.get(byteToken(b));
                byteIds[b] = id == null ? -1 : id;
            }
        }
        return new HfBpeModel(vocab, idToToken, merges, unkId, model.path("fuse_unk").asBoolean(false), byteIds,
                model.path("ignore_merges").asBoolean(false));
    }

    /** The byte-fallback token of byte {@code b}: "<0x0A>" (upper-case hex digits). */
    static String byteToken(int b) {
        return String.format("<0x%02X>", b);
    }

    private static PairMap readMerges(JsonNode merges, Map<String, Integer> vocab, Object source) {
        if (merges == null || merges.isNull()) {
            return new PairMap(0);
        }
        if (!merges.isArray()) {
            throw JvqException.badFile(source, "model: \"merges\" is not a list");
        }
        PairMap map = new PairMap(merges.size());
        int rank = 0;
        for (JsonNode m : merges) {
            String a;
            String b;
            if (m.isTextual()) {
                String[] parts = m.textValue().split(" ", -1);
                if (parts.length != 2) {
                    throw JvqException.badFile(source, "merge " + rank + " '" + m.textValue()
                            + "' is not two tokens separated by one space");
                }
                a = parts[0];
                b = parts[1];
            } else if (m.isArray() && m.size() == 2 && m.get(0).isTextual() && m.get(1).isTextual()) {
                a = m.get(0).textValue();
                b = m.get(1).textValue();
            } else {
                throw JvqException.badFile(source, "merge " + rank + " is neither \"a b\" nor [\"a\", \"b\"]: "
                        + HfJson.abbreviate(m));
            }
            Integer ia = vocab.get(a);
            Integer ib = vocab.get(b);
            Integer merged = vocab.get(a + b);
            if (ia == null || ib == null || merged == null) {
                String missing = ia == null ? a : ib == null ? b : a + b;
                throw JvqException.badFile(source, "merge " + rank + " (" + a + " + " + b + "): '" + missing
                        + "' is not in the vocabulary");
            }
            map.put(ia, ib, rank, merged);
            rank++;
        }
        return map;
    }

    int tokenCount() {
        return idToToken.length;
    }

    /** The token string of {@code id}, or null for an id the vocabulary does not have. */
    String token(int id) {
        return id >= 0 && id < idToToken.length ? idToToken[id] : null;
    }

    Integer id(String token) {
        return vocab.get(token);
    }

    /** Appends the ids of one pre-tokenised word. */
    void encode(String word, IntList out) {
        if (word.isEmpty()) {
            return;
        }
        if (ignoreMerges) {
            Integer whole = vocab.get(word);
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        boolean cacheable = word.length() <= CACHE_WORD_CHARS;
        if (cacheable) {
            int[] hit = cache.get(word);
            if (hit != null) {
                out.addAll(hit);
                return;
            }
        }
        int[] ids = merge(initialSymbols(word));
        if (cacheable) {
            if (cache.size() >= CACHE_ENTRIES) {
                cache.clear();
            }
            cache.put(word, ids);
        }
        out.addAll(ids);
    }

    private IntList initialSymbols(String word) {
        IntList syms = new IntList(word.length());
        boolean lastWasUnk = false;
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            int n = Character.charCount(cp);
            String ch = word.substring(i, i + n);
            i += n;
            Integer id = vocab.get(ch);
            if (id != null) {
                syms.add(id);
                lastWasUnk = false;
                continue;
            }
            if (byteIds != null) {
                byte[] bytes = ch.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                boolean all = true;
                for (byte b : bytes) {
                    all &= byteIds[b & 0xff] >= 0;
                }
                if (all) {
                    for (byte b : bytes) {
                        syms.add(byteIds[b & 0xff]);
                    }
                    lastWasUnk = false;
                    continue;
                }
            }
            if (unkId < 0) {
                // No unk token: the reference library drops the character, and so must we to give the
                // same ids (byte-level vocabularies cover every byte, so real tokenizers never get here).
                continue;
            }
            if (!(fuseUnk && lastWasUnk)) {
                syms.add(unkId);
            }
            lastWasUnk = true;
        }
        return syms;
    }

    /** Applies merges by rank (then position) over a doubly linked list of symbols. */
    private int[] merge(IntList symbols) {
        int n = symbols.size();
        int[] c = symbols.toArray();
        if (n < 2 || merges.isEmpty()) {
            return c;
        }
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] dead = new boolean[n];
        LongHeap queue = new LongHeap(n);
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            if (i + 1 < n) {
                long m = merges.get(c[i], c[i + 1]);
                if (m >= 0) {
                    queue.push(PairMap.rank(m), i);
                }
            }
        }
        while (!queue.isEmpty()) {
            long top = queue.pop();
            int rank = (int) (top >>> 32);
            int pos = (int) top;
            int right = next[pos];
            if (dead[pos] || right < 0) {
                continue;
            }
            long m = merges.get(c[pos], c[right]);
            if (m < 0 || PairMap.rank(m) != rank) {
                continue; // stale: this pair changed since the entry was queued
            }
            c[pos] = PairMap.newId(m);
            dead[right] = true;
            next[pos] = next[right];
            if (next[pos] >= 0) {
                prev[next[pos]] = pos;
            }
            if (prev[pos] >= 0) {
                long left = merges.get(c[prev[pos]], c[pos]);
                if (left >= 0) {
                    queue.push(PairMap.rank(left), prev[pos]);
                }
            }
            if (next[pos] >= 0) {
                long after = merges.get(c[pos], c[next[pos]]);
                if (after >= 0) {
                    queue.push(PairMap.rank(after), pos);
                }
            }
        }
        IntList out = new IntList(n);
        for (int i = 0; i >= 0; i = next[i]) {
            out.add(c[i]);
        }
        return out.toArray();
    }

    /** Open-addressing map from a pair of ids to (rank, merged id), packed as one long. */
    private static final class PairMap {
        private long[] keys;
        private long[] values;
        private int size;

        PairMap(int expected) {
            int cap = Integer.highestOneBit(Math.max(4, expected * 2 + 1)) << 1;
            keys = new long[cap];
            values = new long[cap];
            Arrays.fill(keys, -1L);
        }

        boolean isEmpty() {
            return size == 0;
        }

        static int rank(long packed) {
            return (int) (packed >>> 32);
        }

        static int newId(long packed) {
            return (int) packed;
        }

        private int slot(long key) {
            long h = key * 0x9E3779B97F4A7C15L;
            int mask = keys.length - 1;
            int i = (int) (h >>> 40) & mask;
            while (keys[i] != -1L && keys[i] != key) {
                i = (i + 1) & mask;
            }
            return i;
        }

        void put(int a, int b, int rank, int newId) {
            long key = ((long) a << 32) | b;
            int i = slot(key);
            if (keys[i] == -1L) {
                size++;
            }
            keys[i] = key;
            values[i] = ((long) rank << 32) | (newId & 0xffffffffL);
        }

        /** The packed (rank, merged id) of pair (a, b), or -1. */
        long get(int a, int b) {
            int i = slot(((long) a << 32) | b);
            return keys[i] == -1L ? -1L : values[i];
        }
    }

    /** Min-heap of (rank, position) packed as rank << 32 | position: lowest rank, then leftmost. */
    private static final class LongHeap {
        private long[] heap;
        private int size;

        LongHeap(int capacity) {
            heap = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void push(int rank, int pos) {
            if (size == heap.length) {
                heap = Arrays.copyOf(heap, size * 2);
            }
            long v = ((long) rank << 32) | pos;
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (heap[parent] <= v) {
                    break;
                }
                heap[i] = heap[parent];
                i = parent;
            }
            heap[i] = v;
        }

        long pop() {
            long top = heap[0];
            long last = heap[--size];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= size) {
                    break;
                }
                if (child + 1 < size && heap[child + 1] < heap[child]) {
                    child++;
                }
                if (heap[child] >= last) {
                    break;
                }
                heap[i] = heap[child];
                i = child;
            }
            heap[i] = last;
            return top;
        }
    }

    /** A growable int array (token ids). */
    static final class IntList {
        private int[] a;
        private int size;

        IntList(int capacity) {
            a = new int[Math.max(4, capacity)];
        }

        void add(int v) {
            if (size == a.length) {
                a = Arrays.copyOf(a, size * 2);
            }
            a[size++] = v;
        }

        void addAll(int[] vs) {
            if (size + vs.length > a.length) {
                a = Arrays.copyOf(a, Math.max(size + vs.length, size * 2));
            }
            System.arraycopy(vs, 0, a, size, vs.length);
            size += vs.length;
        }

        int size() {
            return size;
        }

        int[] toArray() {
            return Arrays.copyOf(a, size);
        }
    }
}
