package dev.jvq.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.backend.RopeStyle;
import dev.jvq.model.LlamaConfig;

/** {@link LlamaConfig} as the JSON object stored in a .jvq file's metadata under "config". */
public final class ConfigJson {
    private ConfigJson() {}

    public static ObjectNode write(LlamaConfig c) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("architecture", "llama");
        o.put("dim", c.dim());
        o.put("hidden_dim", c.hiddenDim());
        o.put("n_layers", c.nLayers());
        o.put("n_heads", c.nHeads());
        o.put("n_kv_heads", c.nKvHeads());
        o.put("vocab_size", c.vocabSize());
        o.put("max_seq_len", c.maxSeqLen());
        o.put("rope_theta", c.ropeTheta());
        o.put("norm_eps", c.normEps());
        o.put("rope_style", c.ropeStyle().name().toLowerCase(java.util.Locale.ROOT));
        o.put("tied_embeddings", c.tiedEmbeddings());
        if (c.ropeScaling() != null) {
            ObjectNode s = o.putObject("rope_scaling");
            s.put("factor", c.ropeScaling().factor());
            s.put("low_freq_factor", c.ropeScaling().lowFreqFactor());
            s.put("high_freq_factor", c.ropeScaling().highFreqFactor());
            s.put("original_max_position_embeddings", c.ropeScaling().originalMaxPositionEmbeddings());
        }
        return o;
    }

    public static LlamaConfig read(Object source, JsonNode o) {
        if (o == null || !o.isObject()) {
            throw JvqException.badFile(source, "metadata has no model \"config\" object");
        }
        if (!"llama".equals(o.path("architecture").asText())) {
            throw JvqException.badFile(source, "unsupported architecture '" + o.path("architecture").asText() + "'");
        }
        LlamaConfig.RopeScaling scaling = null;
        JsonNode s = o.get("rope_scaling");
        if (s != null && s.isObject()) {
            scaling = new LlamaConfig.RopeScaling(num(source, s, "factor"), num(source, s, "low_freq_factor"),
                    num(source, s, "high_freq_factor"), integer(source, s, "original_max_position_embeddings"));
        }
        RopeStyle style;
        try {
            style = RopeStyle.valueOf(o.path("rope_style").asText().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw JvqException.badFile(source, "unknown rope_style '" + o.path("rope_style").asText() + "'");
        }
        return new LlamaConfig(integer(source, o, "dim"), integer(source, o, "hidden_dim"),
                integer(source, o, "n_layers"), integer(source, o, "n_heads"), integer(source, o, "n_kv_heads"),
                integer(source, o, "vocab_size"), integer(source, o, "max_seq_len"), num(source, o, "rope_theta"),
                num(source, o, "norm_eps"), style, o.path("tied_embeddings").asBoolean(false), scaling)
                .validate(source);
    }

    private static double num(Object source, JsonNode o, String key) {
        JsonNode n = o.get(key);
        if (n == null || !n.isNumber()) {
            throw JvqException.badFile(source, "model config: missing number '" + key + "'");
        }
        return n.asDouble();
    }

    private static int integer(Object source, JsonNode o, String key) {
        JsonNode n = o.get(key);
        if (n == null || !n.canConvertToInt()) {
            throw JvqException.badFile(source, "model config: missing integer '" + key + "'");
        }
        return n.asInt();
    }
}
