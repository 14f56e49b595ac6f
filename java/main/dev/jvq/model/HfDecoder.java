package dev.jvq.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jvq.JvqException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The {@code decoder} of a tokenizer.json, applied one token at a time so that generated text can be
 * streamed. It works on bytes, not strings: a byte-level or byte-fallback token may hold part of a
 * UTF-8 character, which only becomes text once the following tokens arrive.
 *
 * <p>{@code first} marks a token that starts the text (nothing before it, or only BOS): Strip and
 * Metaspace remove the leading space the encoder added there. Strip's trailing count ("stop") is
 * not applied, since a stream does not know where the text ends; tokenizers in use set it to 0.
 */
@FunctionalInterface
interface HfDecoder {
    byte[] decode(byte[] token, boolean first);

    HfDecoder NONE = (token, first) -> token;

    static HfDecoder of(JsonNode node, Object source) {
        if (node == null || node.isNull()) {
            return NONE;
        }
        String type = HfJson.type(node, "decoder", source);
        return switch (type) {
            case "Sequence" -> {
                List<HfDecoder> steps = new ArrayList<>();
                for (JsonNode n : HfJson.array(node, "decoders", "decoder", source)) {
                    steps.add(of(n, source));
                }
                yield (token, first) -> {
                    for (HfDecoder step : steps) {
                        token = step.decode(token, first);
                    }
                    return token;
                };
            }
            case "ByteLevel" -> (token, first) -> byteLevel(token);
            case "ByteFallback" -> (token, first) -> byteFallback(token);
            case "Fuse" -> NONE;
            case "Replace" -> {
                HfPattern pattern = HfPattern.of(node.get("pattern"), "Replace decoder", source);
                String content = HfJson.string(node, "content", "Replace decoder", source);
                yield (token, first) -> {
                    String s = utf8OrNull(token);
                    return s == null ? token : pattern.replaceAll(s, content).getBytes(StandardCharsets.UTF_8);
                };
            }
            case "Strip" -> {
                String content = HfJson.string(node, "content", "Strip decoder", source);
                int start = node.path("start").asInt(0);
                byte[] c = content.getBytes(StandardCharsets.UTF_8);
                yield (token, first) -> first ? stripLeading(token, c, start) : token;
            }
            case "Metaspace" -> {
                String replacement = node.has("replacement")
                        ? HfJson.string(node, "replacement", "Metaspace decoder", source) : "▁";
                String scheme = node.has("prepend_scheme") ? node.get("prepend_scheme").asText()
                        : node.path("add_prefix_space").asBoolean(true) ? "always" : "never";
                boolean strip = !scheme.equals("never");
                // As in the reference: in the first token every marker goes (not only the leading one).
                yield (token, first) -> {
                    String s = utf8OrNull(token);
                    return s == null ? token
                            : s.replace(replacement, strip && first ? "" : " ").getBytes(StandardCharsets.UTF_8);
                };
            }
            default -> throw JvqException.badFile(source, "unsupported decoder type '" + type + "'");
        };
    }

    /** Byte-level characters back to the bytes they stand for; other characters as their UTF-8. */
    private static byte[] byteLevel(byte[] token) {
        String s = new String(token, StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            int b = cp < 0x10000 ? HfByteLevel.byteOf((char) cp) : -1;
            if (b >= 0) {
                out.write(b);
            } else {
                out.writeBytes(Character.toString(cp).getBytes(StandardCharsets.UTF_8));
            }
            i += Character.charCount(cp);
        }
        return out.toByteArray();
    }

    /** "<0xHH>" is the raw byte 0xHH. */
    private static byte[] byteFallback(byte[] t) {
        if (t.length == 6 && t[0] == '<' && t[1] == '0' && t[2] == 'x' && t[5] == '>') {
            int hi = Character.digit(t[3], 16);
            int lo = Character.digit(t[4], 16);
            if (hi >= 0 && lo >= 0) {
                return new byte[] {(byte) (hi * 16 + lo)};
            }
        }
        return t;
    }

    private static byte[] stripLeading(byte[] token, byte[] c, int max) {
        int from = 0;
        for (int n = 0; n < max && c.length > 0 && from + c.length <= token.length
                && Arrays.equals(token, from, from + c.length, c, 0, c.length); n++) {
            from += c.length;
        }
        return from == 0 ? token : Arrays.copyOfRange(token, from, token.length);
    }

    private static String utf8OrNull(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
