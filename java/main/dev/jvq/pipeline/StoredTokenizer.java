package dev.jvq.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.model.HfConfig;
import dev.jvq.model.HfJson;
import dev.jvq.model.HfModelDirectory;
import dev.jvq.model.HfTokenizer;
import dev.jvq.model.Llama2cTokenizer;
import dev.jvq.model.ModelFiles;
import dev.jvq.model.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The tokenizer a .jvq file carries so that it runs on its own: a llama2.c tokenizer.bin verbatim
 * (kind {@value #LLAMA2C}), or for a Hugging Face model one JSON object holding tokenizer.json and,
 * when present, tokenizer_config.json and config.json, which decide BOS/EOS (kind {@value #HF}).
 */
public record StoredTokenizer(String kind, byte[] bytes) {
    public static final String LLAMA2C = "llama2c";
    public static final String HF = "hf-tokenizer-json";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Captures the tokenizer of the model at {@code model} ({@code explicit} if given). */
    public static StoredTokenizer capture(Path explicit, Path model) {
        boolean hf = explicit == null ? HfModelDirectory.isModelDirectory(model)
                : Files.isDirectory(explicit) || explicit.toString().endsWith(".json");
        if (!hf) {
            return new StoredTokenizer(LLAMA2C, read(ModelFiles.tokenizerPath(explicit, model)));
        }
        Path file = explicit == null ? model.resolve(HfTokenizer.FILE)
                : Files.isDirectory(explicit) ? explicit.resolve(HfTokenizer.FILE) : explicit;
        Path dir = file.toAbsolutePath().getParent();
        ObjectNode o = JSON.createObjectNode();
        o.set("tokenizer", HfJson.read(file));
        if (Files.isRegularFile(dir.resolve(HfTokenizer.CONFIG_FILE))) {
            o.set("tokenizer_config", HfJson.read(dir.resolve(HfTokenizer.CONFIG_FILE)));
        }
        if (Files.isRegularFile(dir.resolve(HfConfig.FILE))) {
            o.set("config", HfJson.read(dir.resolve(HfConfig.FILE)));
        }
        try {
            return new StoredTokenizer(HF, JSON.writeValueAsBytes(o));
        } catch (IOException e) {
            throw new JvqException(file + ": cannot serialise the tokenizer: " + e.getMessage(), e);
        }
    }

    /** Rebuilds the tokenizer; {@code source} names the .jvq file in messages. */
    public Tokenizer restore(Path source) {
        return switch (kind) {
            case LLAMA2C -> Llama2cTokenizer.parse(source, bytes);
            case HF -> {
                JsonNode o;
                try {
                    o = JSON.readTree(new String(bytes, StandardCharsets.UTF_8));
                } catch (IOException e) {
                    throw JvqException.badFile(source, "stored tokenizer is not valid JSON: " + e.getMessage());
                }
                if (o == null || !o.path("tokenizer").isObject()) {
                    throw JvqException.badFile(source, "stored tokenizer has no tokenizer.json object");
                }
                yield HfTokenizer.parse(o.get("tokenizer"), source, o.get("tokenizer_config"), source, o.get("config"));
            }
            default -> throw JvqException.badFile(source, "unknown tokenizer kind '" + kind + "'");
        };
    }

    private static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new JvqException(p + ": cannot read: " + e.getMessage(), e);
        }
    }
}
