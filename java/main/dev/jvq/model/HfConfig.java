package dev.jvq.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvq.JvqException;
import dev.jvq.backend.RopeStyle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A Hugging Face {@code config.json} of the Llama family (LlamaForCausalLM, model_type "llama":
 * Llama 2 and 3, TinyLlama, SmolLM2, …). Anything this engine would compute differently — another
 * architecture, biases, an activation other than SiLU, an unknown RoPE scaling — is refused with
 * one line rather than run wrongly.
 *
 * @param llama the model shape, with {@link RopeStyle#HALVES} as Hugging Face checkpoints rotate
 * @param bosTokenId {@code bos_token_id}, or -1
 * @param eosTokenIds {@code eos_token_id} (a number or a list), possibly empty
 */
public record HfConfig(LlamaConfig llama, int bosTokenId, List<Integer> eosTokenIds) {
    public static final String FILE = "config.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    public HfConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    /** Reads {@code config.json} (or the config.json inside a directory). */
    public static HfConfig read(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve(FILE) : path;
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw JvqException.badFile(file, "no such file");
        } catch (JsonProcessingException e) {
            throw JvqException.badFile(file, "malformed JSON: " + e.getOriginalMessage().replaceAll("\\s+", " "));
        } catch (IOException e) {
            throw JvqException.badFile(file, "cannot read: " + e.getMessage());
        }
        return parse(root, file);
    }

    /** Interprets a parsed config; {@code source} names the file in errors. */
    public static HfConfig parse(JsonNode root, Object source) {
        if (root == null || !root.isObject()) {
            throw JvqException.badFile(source, "not a JSON object");
        }
        checkArchitecture(root, source);
        int dim = positiveInt(root, "hidden_size", source);
        int hidden = positiveInt(root, "intermediate_size", source);
        int layers = positiveInt(root, "num_hidden_layers", source);
        int heads = positiveInt(root, "num_attention_heads", source);
        int kvHeads = has(root, "num_key_value_heads") ? positiveInt(root, "num_key_value_heads", source) : heads;
        int vocab = positiveInt(root, "vocab_size", source);
        int maxPos = positiveInt(root, "max_position_embeddings", source);
        double eps = positiveNumber(root, "rms_norm_eps", source);
        double theta = has(root, "rope_theta") ? positiveNumber(root, "rope_theta", source) : 10000.0;
        boolean tied = has(root, "tie_word_embeddings") && bool(root, "tie_word_embeddings", source);

        if (has(root, "hidden_act") && !"silu".equals(root.get("hidden_act").asText())) {
            throw JvqException.badFile(source, "unsupported hidden_act '" + root.get("hidden_act").asText()
                    + "' (Llama models use silu)");
        }
        for (String bias : List.of("attention_bias", "mlp_bias")) {
            if (has(root, bias) && bool(root, bias, source)) {
                throw JvqException.badFile(source, bias + " is true: linear layers with biases are not supported");
            }
        }
        if (has(root, "head_dim") && heads > 0 && positiveInt(root, "head_dim", source) * heads != dim) {
            throw JvqException.badFile(source, "head_dim " + root.get("head_dim") + " × " + heads
                    + " heads differs from hidden_size " + dim + "; only head_dim = hidden_size / heads is supported");
        }
        LlamaConfig.RopeScaling scaling = ropeScaling(root.get("rope_scaling"), source);
        LlamaConfig llama = new LlamaConfig(dim, hidden, layers, heads, kvHeads, vocab, maxPos, theta, eps,
                RopeStyle.HALVES, tied, scaling).validate(source);
        int bos = has(root, "bos_token_id") ? nonNegativeInt(root.get("bos_token_id"), "bos_token_id", source) : -1;
        List<Integer> eos = new ArrayList<>();
        JsonNode eosNode = root.get("eos_token_id");
        if (eosNode != null && !eosNode.isNull()) {
            if (eosNode.isArray()) {
                eosNode.forEach(n -> eos.add(nonNegativeInt(n, "eos_token_id", source)));
            } else {
                eos.add(nonNegativeInt(eosNode, "eos_token_id", source));
            }
        }
        return new HfConfig(llama, bos, eos);
    }

    private static void checkArchitecture(JsonNode root, Object source) {
        JsonNode archs = root.get("architectures");
        String modelType = root.path("model_type").asText(null);
        boolean llamaArch = false;
        List<String> names = new ArrayList<>();
        if (archs != null && archs.isArray()) {
            for (JsonNode a : archs) {
                names.add(a.asText());
                llamaArch |= "LlamaForCausalLM".equals(a.asText());
            }
        }
        boolean ok = modelType == null ? llamaArch : modelType.equals("llama") && (names.isEmpty() || llamaArch);
        if (!ok) {
            throw JvqException.badFile(source, "unsupported architecture "
                    + (names.isEmpty() ? "(none named)" : String.join(", ", names))
                    + " (model_type '" + modelType + "'); jvq runs the Llama family (LlamaForCausalLM, model_type"
                    + " 'llama')");
        }
    }

    private static LlamaConfig.RopeScaling ropeScaling(JsonNode rs, Object source) {
        if (rs == null || rs.isNull()) {
            return null;
        }
        if (!rs.isObject()) {
            throw JvqException.badFile(source, "rope_scaling is not an object");
        }
        String type = rs.has("rope_type") ? rs.get("rope_type").asText() : rs.path("type").asText(null);
        if (type == null || type.equals("default")) {
            return null;
        }
        if (!type.equals("llama3")) {
            throw JvqException.badFile(source, "unsupported rope_scaling type '" + type + "' (supported: llama3)");
        }
        return new LlamaConfig.RopeScaling(
                positiveNumber(rs, "factor", source, "rope_scaling."),
                positiveNumber(rs, "low_freq_factor", source, "rope_scaling."),
                positiveNumber(rs, "high_freq_factor", source, "rope_scaling."),
                positiveInt(rs, "original_max_position_embeddings", source, "rope_scaling."));
    }

    private static boolean has(JsonNode node, String key) {
        return node.has(key) && !node.get(key).isNull();
    }

    private static JsonNode required(JsonNode node, String key, Object source, String prefix) {
        if (!has(node, key)) {
            throw JvqException.badFile(source, "missing key '" + prefix + key + "'");
        }
        return node.get(key);
    }

    private static int positiveInt(JsonNode node, String key, Object source) {
        return positiveInt(node, key, source, "");
    }

    private static int positiveInt(JsonNode node, String key, Object source, String prefix) {
        JsonNode v = required(node, key, source, prefix);
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() <= 0) {
            throw JvqException.badFile(source, "'" + prefix + key + "' must be a positive integer, not " + v);
        }
        return v.intValue();
    }

    private static int nonNegativeInt(JsonNode v, String key, Object source) {
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0) {
            throw JvqException.badFile(source, "'" + key + "' must be a token id, not " + v);
        }
        return v.intValue();
    }

    private static double positiveNumber(JsonNode node, String key, Object source) {
        return positiveNumber(node, key, source, "");
    }

    private static double positiveNumber(JsonNode node, String key, Object source, String prefix) {
        JsonNode v = required(node, key, source, prefix);
        if (!v.isNumber() || !(v.doubleValue() > 0) || Double.isInfinite(v.doubleValue())) {
            throw JvqException.badFile(source, "'" + prefix + key + "' must be a positive number, not " + v);
        }
        return v.doubleValue();
    }

    private static boolean bool(JsonNode node, String key, Object source) {
        JsonNode v = node.get(key);
        if (!v.isBoolean()) {
            throw JvqException.badFile(source, "'" + key + "' must be true or false, not " + v);
        }
        return v.booleanValue();
    }
}
