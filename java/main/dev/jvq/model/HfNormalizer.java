package dev.jvq.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jvq.JvqException;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;

/**
 * The {@code normalizer} of a tokenizer.json: rewrites each piece of text between added tokens
 * before it is split and encoded. Llama 2 uses Sequence[Prepend("▁"), Replace(" " → "▁")], which
 * is how SentencePiece's dummy prefix and space marker are expressed in this format.
 */
@FunctionalInterface
interface HfNormalizer extends UnaryOperator<String> {
    HfNormalizer IDENTITY = s -> s;

    static HfNormalizer of(JsonNode node, Object source) {
        if (node == null || node.isNull()) {
            return IDENTITY;
        }
        String type = HfJson.type(node, "normalizer", source);
        return switch (type) {
            case "Sequence" -> {
                List<HfNormalizer> steps = new ArrayList<>();
                for (JsonNode n : HfJson.array(node, "normalizers", "normalizer", source)) {
                    steps.add(of(n, source));
                }
                yield s -> {
                    for (HfNormalizer step : steps) {
                        s = step.apply(s);
                    }
                    return s;
                };
            }
            case "Prepend" -> {
                String prefix = HfJson.string(node, "prepend", "Prepend normalizer", source);
                // Only non-empty text gets the prefix, as in the reference implementation.
                yield s -> s.isEmpty() ? s : prefix + s;
            }
            case "Replace" -> {
                HfPattern pattern = HfPattern.of(node.get("pattern"), "Replace normalizer", source);
                String content = HfJson.string(node, "content", "Replace normalizer", source);
                yield s -> pattern.replaceAll(s, content);
            }
            case "NFC" -> s -> Normalizer.normalize(s, Normalizer.Form.NFC);
            case "NFD" -> s -> Normalizer.normalize(s, Normalizer.Form.NFD);
            case "NFKC" -> s -> Normalizer.normalize(s, Normalizer.Form.NFKC);
            case "NFKD" -> s -> Normalizer.normalize(s, Normalizer.Form.NFKD);
            case "Lowercase" -> s -> s.toLowerCase(Locale.ROOT);
            case "Strip" -> {
                boolean left = node.path("strip_left").asBoolean(true);
                boolean right = node.path("strip_right").asBoolean(true);
                yield s -> left && right ? s.strip() : left ? s.stripLeading() : right ? s.stripTrailing() : s;
            }
            default -> throw JvqException.badFile(source, "unsupported normalizer type '" + type + "'");
        };
    }
}
