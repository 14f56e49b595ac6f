package dev.jvq.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.JvqException;
import dev.jvq.backend.RopeStyle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfConfigTest {
    @TempDir
    Path dir;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Shaped like HuggingFaceTB/SmolLM2-135M's config.json. */
    static final String SMOLLM2 = """
            {"architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
             "bos_token_id": 0, "eos_token_id": 0, "hidden_act": "silu", "hidden_size": 576,
             "initializer_range": 0.041666666666666664, "intermediate_size": 1536, "is_llama_config": true,
             "max_position_embeddings": 8192, "model_type": "llama", "num_attention_heads": 9,
             "num_hidden_layers": 30, "num_key_value_heads": 3, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
             "rope_interleaved": false, "rope_scaling": null, "rope_theta": 100000, "tie_word_embeddings": true,
             "torch_dtype": "bfloat16", "transformers_version": "4.40.1", "use_cache": true, "vocab_size": 49152}
            """;

    /** Shaped like meta-llama/Llama-3.2-1B's config.json. */
    static final String LLAMA32 = """
            {"architectures": ["LlamaForCausalLM"], "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
             "head_dim": 64, "hidden_act": "silu", "hidden_size": 2048, "intermediate_size": 8192,
             "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama", "num_attention_heads": 32,
             "num_hidden_layers": 16, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
             "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                              "original_max_position_embeddings": 8192, "rope_type": "llama3"},
             "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "vocab_size": 128256}
            """;

    /** Shaped like a Llama-2 config: no num_key_value_heads, no rope_theta, no tie flag. */
    static final String LLAMA2 = """
            {"architectures": ["LlamaForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
             "hidden_size": 4096, "intermediate_size": 11008, "max_position_embeddings": 4096,
             "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 32, "rms_norm_eps": 1e-06,
             "rope_scaling": null, "vocab_size": 32000}
            """;

    private static HfConfig parse(String json) throws IOException {
        return HfConfig.parse(JSON.readTree(json), "config.json");
    }

    @Test
    void smolLm2() throws IOException {
        HfConfig c = parse(SMOLLM2);
        assertEquals(new LlamaConfig(576, 1536, 30, 9, 3, 49152, 8192, 100000.0, 1e-5, RopeStyle.HALVES, true, null),
                c.llama());
        assertEquals(64, c.llama().headDim());
        assertEquals(0, c.bosTokenId());
        assertEquals(List.of(0), c.eosTokenIds());
    }

    @Test
    void llama32WithLlama3RopeScaling() throws IOException {
        HfConfig c = parse(LLAMA32);
        assertEquals(new LlamaConfig(2048, 8192, 16, 32, 8, 128256, 131072, 500000.0, 1e-5, RopeStyle.HALVES, true,
                new LlamaConfig.RopeScaling(32.0, 1.0, 4.0, 8192)), c.llama());
        assertEquals(List.of(128001, 128008, 128009), c.eosTokenIds());
        // Older configs spell the key "type".
        HfConfig old = parse(LLAMA32.replace("\"rope_type\"", "\"type\""));
        assertEquals(c.llama(), old.llama());
    }

    @Test
    void llama2Defaults() throws IOException {
        LlamaConfig c = parse(LLAMA2).llama();
        assertEquals(32, c.nKvHeads(), "num_key_value_heads defaults to the head count");
        assertEquals(10000.0, c.ropeTheta());
        assertFalse(c.tiedEmbeddings());
        assertNull(c.ropeScaling());
        assertEquals(1e-6, c.normEps());
    }

    @Test
    void readsFromDirectoryAndFile() throws IOException {
        Files.writeString(dir.resolve("config.json"), SMOLLM2);
        assertEquals(parse(SMOLLM2), HfConfig.read(dir));
        assertEquals(parse(SMOLLM2), HfConfig.read(dir.resolve("config.json")));
        JvqException e = assertThrows(JvqException.class, () -> HfConfig.read(dir.resolve("nope")));
        assertEquals(dir.resolve("nope") + ": no such file", e.getMessage());
        Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": ");
        e = assertThrows(JvqException.class, () -> HfConfig.read(dir));
        assertTrue(e.getMessage().startsWith(dir.resolve("config.json") + ": malformed JSON"));
        assertFalse(e.getMessage().contains("\n"));
    }

    private static String failure(String json) {
        JvqException e = assertThrows(JvqException.class, () -> parse(json));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().startsWith("config.json: "), e.getMessage());
        return e.getMessage().substring("config.json: ".length());
    }

    private static String edit(String json, java.util.function.Consumer<ObjectNode> change) throws IOException {
        ObjectNode n = (ObjectNode) JSON.readTree(json);
        change.accept(n);
        return n.toString();
    }

    @Test
    void refusesWhatItCannotRun() throws IOException {
        assertEquals("unsupported architecture Qwen2ForCausalLM (model_type 'qwen2'); jvq runs the Llama family"
                + " (LlamaForCausalLM, model_type 'llama')",
                failure(SMOLLM2.replace("LlamaForCausalLM", "Qwen2ForCausalLM").replace("\"llama\"", "\"qwen2\"")));
        assertEquals("missing key 'intermediate_size'", failure(edit(SMOLLM2, n -> n.remove("intermediate_size"))));
        assertEquals("'hidden_size' must be a positive integer, not \"576\"",
                failure(edit(SMOLLM2, n -> n.put("hidden_size", "576"))));
        assertEquals("'rms_norm_eps' must be a positive number, not -1.0",
                failure(edit(SMOLLM2, n -> n.put("rms_norm_eps", -1.0))));
        assertEquals("unsupported rope_scaling type 'linear' (supported: llama3)",
                failure(LLAMA32.replace("\"llama3\"", "\"linear\"")));
        assertEquals("missing key 'rope_scaling.low_freq_factor'",
                failure(LLAMA32.replace("\"low_freq_factor\"", "\"low\"")));
        assertEquals("attention_bias is true: linear layers with biases are not supported",
                failure(edit(SMOLLM2, n -> n.put("attention_bias", true))));
        assertEquals("unsupported hidden_act 'gelu' (Llama models use silu)",
                failure(edit(SMOLLM2, n -> n.put("hidden_act", "gelu"))));
        assertTrue(failure(edit(LLAMA32, n -> n.put("head_dim", 128))).startsWith("head_dim 128"));
        assertTrue(failure(edit(SMOLLM2, n -> n.put("num_key_value_heads", 4))).startsWith("inconsistent heads"));
        assertEquals("not a JSON object", failure("[1, 2]"));
    }
}
