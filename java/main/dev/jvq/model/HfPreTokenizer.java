package dev.jvq.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jvq.JvqException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;

/**
 * The {@code pre_tokenizer} of a tokenizer.json: splits normalised text into words that BPE encodes
 * independently. GPT-2 and SmolLM2 use ByteLevel with its built-in regex; Llama 3 uses a Split with
 * its own regex followed by ByteLevel(use_regex=false); SentencePiece-style tokenizers use none or
 * Metaspace.
 */
@FunctionalInterface
interface HfPreTokenizer {
    /** A word; {@code atStart} when it begins the whole input text (Metaspace's "first" scheme needs it). */
    record Piece(String text, boolean atStart) {}

    List<Piece> split(List<Piece> pieces);

    HfPreTokenizer NONE = pieces -> pieces;

    static HfPreTokenizer of(JsonNode node, Object source) {
        if (node == null || node.isNull()) {
            return NONE;
        }
        String type = HfJson.type(node, "pre_tokenizer", source);
        return switch (type) {
            case "Sequence" -> {
                List<HfPreTokenizer> steps = new ArrayList<>();
                for (JsonNode n : HfJson.array(node, "pretokenizers", "pre_tokenizer", source)) {
                    steps.add(of(n, source));
                }
                yield pieces -> {
                    for (HfPreTokenizer step : steps) {
                        pieces = step.split(pieces);
                    }
                    return pieces;
                };
            }
            case "Split" -> {
                HfPattern pattern = HfPattern.of(node.get("pattern"), "Split pre_tokenizer", source);
                Behavior behavior = Behavior.of(node.path("behavior").asText("Isolated"), source);
                boolean invert = node.path("invert").asBoolean(false);
                yield each(p -> behavior.apply(p, pattern.matches(p), invert));
            }
            case "ByteLevel" -> byteLevel(node.path("add_prefix_space").asBoolean(true),
                    node.path("use_regex").asBoolean(true));
            case "Metaspace" -> metaspace(node, source);
            case "Digits" -> {
                Behavior b = node.path("individual_digits").asBoolean(false) ? Behavior.ISOLATED : Behavior.CONTIGUOUS;
                yield each(p -> b.apply(p, charMatches(p, HfPreTokenizer::isNumeric), false));
            }
            case "WhitespaceSplit" -> each(p -> Behavior.REMOVED.apply(p, charMatches(p, HfText::isWhitespace), false));
            default -> throw JvqException.badFile(source, "unsupported pre_tokenizer type '" + type + "'");
        };
    }

    /** A pre-tokenizer that splits every piece independently; the first sub-piece inherits atStart. */
    private static HfPreTokenizer each(java.util.function.Function<String, List<String>> splitter) {
        return pieces -> {
            List<Piece> out = new ArrayList<>();
            for (Piece p : pieces) {
                boolean first = p.atStart();
                for (String s : splitter.apply(p.text())) {
                    out.add(new Piece(s, first));
                    first = false;
                }
            }
            return out;
        };
    }

    private static HfPreTokenizer byteLevel(boolean addPrefixSpace, boolean useRegex) {
        HfPattern gpt2 = new HfPattern(HfByteLevel.GPT2_SPLIT);
        return each(p -> {
            String s = addPrefixSpace && !p.startsWith(" ") ? " " + p : p;
            List<String> words = useRegex ? Behavior.ISOLATED.apply(s, gpt2.matches(s), false) : List.of(s);
            List<String> out = new ArrayList<>(words.size());
            for (String w : words) {
                out.add(HfByteLevel.encode(w));
            }
            return out;
        });
    }

    private static HfPreTokenizer metaspace(JsonNode node, Object source) {
        String replacement = node.has("replacement") ? HfJson.string(node, "replacement", "Metaspace", source) : "▁";
        String scheme = node.has("prepend_scheme") ? node.get("prepend_scheme").asText()
                : node.path("add_prefix_space").asBoolean(true) ? "always" : "never";
        if (!List.of("always", "first", "never").contains(scheme)) {
            throw JvqException.badFile(source, "Metaspace: unknown prepend_scheme '" + scheme + "'");
        }
        boolean split = node.path("split").asBoolean(true);
        HfPattern marker = new HfPattern(java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(replacement)));
        return pieces -> {
            List<Piece> out = new ArrayList<>();
            for (Piece p : pieces) {
                String s = p.text().replace(" ", replacement);
                boolean prepend = switch (scheme) {
                    case "always" -> true;
                    case "first" -> p.atStart();
                    default -> false;
                };
                if (prepend && !s.startsWith(replacement)) {
                    s = replacement + s;
                }
                List<String> parts = split ? Behavior.MERGED_WITH_NEXT.apply(s, marker.matches(s), false) : List.of(s);
                boolean first = p.atStart();
                for (String part : parts) {
                    out.add(new Piece(part, first));
                    first = false;
                }
            }
            return out;
        };
    }

    /** Each character satisfying {@code test} as a one-character match. */
    private static List<int[]> charMatches(String s, IntPredicate test) {
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            int n = Character.charCount(cp);
            if (test.test(cp)) {
                out.add(new int[] {i, i + n});
            }
            i += n;
        }
        return out;
    }

    /** Rust's char::is_numeric: the Unicode categories Nd, Nl and No. */
    private static boolean isNumeric(int cp) {
        int t = Character.getType(cp);
        return t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER;
    }

    /** What happens to the matched delimiters when a piece is split (tokenizers' SplitDelimiterBehavior). */
    enum Behavior {
        REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS;

        static Behavior of(String name, Object source) {
            return switch (name) {
                case "Removed" -> REMOVED;
                case "Isolated" -> ISOLATED;
                case "MergedWithPrevious" -> MERGED_WITH_PREVIOUS;
                case "MergedWithNext" -> MERGED_WITH_NEXT;
                case "Contiguous" -> CONTIGUOUS;
                default -> throw JvqException.badFile(source, "Split: unknown behavior '" + name + "'");
            };
        }

        /** Splits {@code s} at {@code matches} (sorted, non-overlapping); empty parts are dropped. */
        List<String> apply(String s, List<int[]> matches, boolean invert) {
            // Segments covering s: [start, end, isMatch].
            List<int[]> segs = new ArrayList<>();
            int prev = 0;
            for (int[] m : matches) {
                if (m[0] > prev) {
                    segs.add(new int[] {prev, m[0], invert ? 1 : 0});
                }
                segs.add(new int[] {m[0], m[1], invert ? 0 : 1});
                prev = m[1];
            }
            if (prev < s.length()) {
                segs.add(new int[] {prev, s.length(), invert ? 1 : 0});
            }
            List<int[]> parts = new ArrayList<>();
            switch (this) {
                case REMOVED -> segs.stream().filter(g -> g[2] == 0).forEach(parts::add);
                case ISOLATED -> parts.addAll(segs);
                case MERGED_WITH_PREVIOUS -> {
                    boolean previousMatch = false;
                    for (int[] g : segs) {
                        if (g[2] == 1 && !previousMatch && !parts.isEmpty()) {
                            parts.getLast()[1] = g[1];
                        } else {
                            parts.add(g.clone());
                        }
                        previousMatch = g[2] == 1;
                    }
                }
                case MERGED_WITH_NEXT -> {
                    boolean nextMatch = false;
                    for (int i = segs.size() - 1; i >= 0; i--) {
                        int[] g = segs.get(i);
                        if (g[2] == 1 && !nextMatch && !parts.isEmpty()) {
                            parts.getLast()[0] = g[0];
                        } else {
                            parts.add(g.clone());
                        }
                        nextMatch = g[2] == 1;
                    }
                    java.util.Collections.reverse(parts);
                }
                case CONTIGUOUS -> {
                    boolean previousMatch = false;
                    for (int[] g : segs) {
                        if (g[2] == 1 && previousMatch && !parts.isEmpty()) {
                            parts.getLast()[1] = g[1];
                        } else {
                            parts.add(g.clone());
                        }
                        previousMatch = g[2] == 1;
                    }
                }
            }
            List<String> out = new ArrayList<>(parts.size());
            for (int[] g : parts) {
                if (g[1] > g[0]) {
                    out.add(s.substring(g[0], g[1]));
                }
            }
            return out;
        }
    }
}
