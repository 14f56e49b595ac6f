package dev.jvq.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jvq.JvqException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code added_tokens} of a tokenizer.json (special tokens such as {@code <s>} or
 * {@code <|begin_of_text|>}, and other whole strings). They are found in the text before anything
 * else happens — leftmost match first, the longest one where several start at the same place — and
 * become their ids directly; only the text between them is normalised and run through BPE.
 */
final class HfAddedTokens {
    record AddedToken(int id, String content, boolean special, boolean lstrip, boolean rstrip, boolean singleWord,
            boolean normalized) {}

    /** A stretch of text: either an added token (id ≥ 0) or plain text (id = -1) starting at {@code start}. */
    record Segment(String text, int id, int start) {}

    private final List<AddedToken> tokens;
    private final Map<Integer, AddedToken> byId = new HashMap<>();
    private final Map<String, AddedToken> byContent = new HashMap<>();
    /** Candidates by first character, longest first; one table for raw and one for normalised matching. */
    private final Map<Character, List<AddedToken>> raw = new HashMap<>();
    private final Map<Character, List<AddedToken>> normalizedOnes = new HashMap<>();

    private HfAddedTokens(List<AddedToken> tokens) {
        this.tokens = List.copyOf(tokens);
        for (AddedToken t : tokens) {
            byId.put(t.id(), t);
            byContent.put(t.content(), t);
            (t.normalized() ? normalizedOnes : raw).computeIfAbsent(t.content().charAt(0), k -> new ArrayList<>()).add(t);
        }
        Comparator<AddedToken> longestFirst = Comparator.comparingInt((AddedToken t) -> t.content().length()).reversed();
        raw.values().forEach(l -> l.sort(longestFirst));
        normalizedOnes.values().forEach(l -> l.sort(longestFirst));
    }

    static HfAddedTokens of(JsonNode node, Object source) {
        List<AddedToken> list = new ArrayList<>();
        if (node != null && !node.isNull()) {
            if (!node.isArray()) {
                throw JvqException.badFile(source, "\"added_tokens\" is not a list");
            }
            for (JsonNode t : node) {
                JsonNode id = t.get("id");
                JsonNode content = t.get("content");
                if (id == null || !id.canConvertToInt() || id.intValue() < 0 || content == null || !content.isTextual()
                        || content.textValue().isEmpty()) {
                    throw JvqException.badFile(source, "added token without a valid id and content: "
                            + HfJson.abbreviate(t));
                }
                boolean special = t.path("special").asBoolean(false);
                list.add(new AddedToken(id.intValue(), content.textValue(), special,
                        t.path("lstrip").asBoolean(false), t.path("rstrip").asBoolean(false),
                        t.path("single_word").asBoolean(false),
                        // Matched in the raw text unless "normalized"; the default follows the reference
                        // library (special tokens raw, others normalised).
                        t.path("normalized").asBoolean(!special)));
            }
        }
        return new HfAddedTokens(list);
    }

    List<AddedToken> all() {
        return tokens;
    }

    AddedToken byId(int id) {
        return byId.get(id);
    }

    AddedToken byContent(String content) {
        return byContent.get(content);
    }

    int maxId() {
        return tokens.stream().mapToInt(AddedToken::id).max().orElse(-1);
    }

    /** Splits raw text at the added tokens matched before normalisation. */
    List<Segment> splitRaw(String text, int offset) {
        return split(text, offset, raw);
    }

    /** Splits normalised text at the added tokens marked {@code normalized}. */
    List<Segment> splitNormalized(String text, int offset) {
        return split(text, offset, normalizedOnes);
    }

    private static List<Segment> split(String text, int offset, Map<Character, List<AddedToken>> table) {
        if (table.isEmpty()) {
            return List.of(new Segment(text, -1, offset));
        }
        List<Segment> out = new ArrayList<>();
        int plainStart = 0;
        int i = 0;
        while (i < text.length()) {
            List<AddedToken> candidates = table.get(text.charAt(i));
            AddedToken hit = null;
            if (candidates != null) {
                for (AddedToken t : candidates) {
                    if (text.startsWith(t.content(), i)) {
                        hit = t;
                        break;
                    }
                }
            }
            if (hit == null) {
                i++;
                continue;
            }
            int start = i;
            int stop = i + hit.content().length();
            if (hit.singleWord() && ((start > 0 && HfText.isWordChar(text.codePointBefore(start)))
                    || (stop < text.length() && HfText.isWordChar(text.codePointAt(stop))))) {
                // Not a whole word: the matcher skips past it, as the reference's non-overlapping search does.
                i = stop;
                continue;
            }
            if (hit.lstrip()) {
                while (start > plainStart && HfText.isWhitespace(text.codePointBefore(start))) {
                    start -= Character.charCount(text.codePointBefore(start));
                }
            }
            if (hit.rstrip()) {
                while (stop < text.length() && HfText.isWhitespace(text.codePointAt(stop))) {
                    stop += Character.charCount(text.codePointAt(stop));
                }
            }
            if (start > plainStart) {
                out.add(new Segment(text.substring(plainStart, start), -1, offset + plainStart));
            }
            out.add(new Segment(text.substring(start, stop), hit.id(), offset + start));
            plainStart = stop;
            i = stop;
        }
        if (plainStart < text.length()) {
            out.add(new Segment(text.substring(plainStart), -1, offset + plainStart));
        }
        return out;
    }
}
