package dev.jvq.model;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvq.JvqException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reading the JSON files of a Hugging Face model directory, with one-line errors naming the file. */
public final class HfJson {
    static final ObjectMapper MAPPER = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private HfJson() {}

    public static JsonNode read(Path file) {
        try {
            JsonNode root = MAPPER.readTree(Files.readAllBytes(file));
            if (root == null || !root.isObject()) {
                throw JvqException.badFile(file, "not a JSON object");
            }
            return root;
        } catch (NoSuchFileException e) {
            throw JvqException.badFile(file, "no such file");
        } catch (JsonProcessingException e) {
            throw JvqException.badFile(file, "malformed JSON: " + e.getOriginalMessage().replaceAll("\\s+", " ")
                    + " (line " + e.getLocation().getLineNr() + ")");
        } catch (IOException e) {
            throw JvqException.badFile(file, "cannot read: " + e.getMessage());
        }
    }

    /** The "type" of a component ("normalizer", "decoder", …). */
    static String type(JsonNode node, String what, Object source) {
        JsonNode t = node.get("type");
        if (t == null || !t.isTextual()) {
            throw JvqException.badFile(source, what + " without a \"type\": " + abbreviate(node));
        }
        return t.textValue();
    }

    static JsonNode array(JsonNode node, String key, String what, Object source) {
        JsonNode a = node.get(key);
        if (a == null || !a.isArray()) {
            throw JvqException.badFile(source, what + ": \"" + key + "\" is not a list");
        }
        return a;
    }

    static String string(JsonNode node, String key, String what, Object source) {
        JsonNode s = node.get(key);
        if (s == null || !s.isTextual()) {
            throw JvqException.badFile(source, what + ": \"" + key + "\" is not a string");
        }
        return s.textValue();
    }

    static String abbreviate(JsonNode node) {
        String s = String.valueOf(node);
        return s.length() > 80 ? s.substring(0, 77) + "..." : s;
    }
}
