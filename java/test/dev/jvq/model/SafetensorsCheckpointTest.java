package dev.jvq.model;

import static dev.jvq.model.SafetensorsFileTest.bytes;
import static dev.jvq.model.SafetensorsFileTest.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.JvqException;
import dev.jvq.tensor.DType;
import dev.jvq.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsCheckpointTest {
    @TempDir
    Path dir;

    private final Random rnd = new Random(11);
    private final Tensor a = random("model.layers.0.mlp.up_proj.weight", DType.BF16, rnd, 5, 3);
    private final Tensor b = random("model.norm.weight", DType.F32, rnd, 3);
    private final Tensor c = random("lm_head.weight", DType.F16, rnd, 7, 3);

    private void writeShards(String index) throws IOException {
        SafetensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"), List.of(a, b), Map.of());
        SafetensorsWriter.write(dir.resolve("model-00002-of-00002.safetensors"), List.of(c), Map.of());
        Files.writeString(dir.resolve(SafetensorsCheckpoint.INDEX_FILE), index);
    }

    private static final String INDEX = """
            {"metadata": {"total_size": 68},
             "weight_map": {
               "model.layers.0.mlp.up_proj.weight": "model-00001-of-00002.safetensors",
               "lm_head.weight": "model-00002-of-00002.safetensors",
               "model.norm.weight": "model-00001-of-00002.safetensors"}}
            """;

    @Test
    void shardedDirectoryOpensEachShardOnce() throws IOException {
        writeShards(INDEX);
        try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(dir)) {
            assertEquals(2, ck.files().size());
            assertEquals(List.of(a.name(), c.name(), b.name()), ck.names());
            for (Tensor t : List.of(a, b, c)) {
                Tensor back = ck.tensor(t.name());
                assertEquals(t.dtype(), back.dtype());
                assertArrayEquals(t.shape(), back.shape());
                assertArrayEquals(bytes(t), bytes(back));
            }
            JvqException e = assertThrows(JvqException.class, () -> ck.tensor("model.embed_tokens.weight"));
            assertEquals(dir.resolve(SafetensorsCheckpoint.INDEX_FILE) + ": no tensor 'model.embed_tokens.weight'",
                    e.getMessage());
        }
    }

    @Test
    void singleFileDirectory() {
        SafetensorsWriter.write(dir.resolve("model.safetensors"), List.of(a, b, c), Map.of("format", "pt"));
        try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(dir)) {
            assertEquals(1, ck.files().size());
            assertEquals(List.of(a.name(), b.name(), c.name()), ck.names());
            assertArrayEquals(bytes(c), bytes(ck.tensor(c.name())));
        }
    }

    @Test
    void indexErrorsAreOneLine() throws IOException {
        writeShards(INDEX.replace("\"model.norm.weight\": \"model-00001", "\"model.norm.weight\": \"model-00002"));
        JvqException e = assertThrows(JvqException.class, () -> SafetensorsCheckpoint.open(dir));
        assertTrue(e.getMessage().startsWith(dir.resolve("model-00002-of-00002.safetensors").toAbsolutePath()
                + ": no tensor 'model.norm.weight' although"), e.getMessage());

        writeShards(INDEX.replace("model-00002-of-00002.safetensors", "model-00003-of-00003.safetensors"));
        e = assertThrows(JvqException.class, () -> SafetensorsCheckpoint.open(dir));
        assertTrue(e.getMessage().endsWith("shard 'model-00003-of-00003.safetensors' (holding tensor 'lm_head.weight')"
                + " does not exist"), e.getMessage());

        writeShards(INDEX.replace("model-00002-of-00002.safetensors", "../elsewhere.safetensors"));
        e = assertThrows(JvqException.class, () -> SafetensorsCheckpoint.open(dir));
        assertTrue(e.getMessage().contains("lies outside"), e.getMessage());

        writeShards("{\"metadata\": {}}");
        e = assertThrows(JvqException.class, () -> SafetensorsCheckpoint.open(dir));
        assertTrue(e.getMessage().endsWith("no \"weight_map\" object"), e.getMessage());

        writeShards("{\"weight_map\": ");
        e = assertThrows(JvqException.class, () -> SafetensorsCheckpoint.open(dir));
        assertTrue(e.getMessage().contains("malformed JSON") && !e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void directoryWithoutCheckpoint() throws IOException {
        JvqException e = assertThrows(JvqException.class, () -> SafetensorsCheckpoint.open(dir));
        assertEquals(dir + ": no model.safetensors or model.safetensors.index.json in this directory", e.getMessage());
        SafetensorsWriter.write(dir.resolve("x.safetensors"), List.of(a), Map.of());
        SafetensorsWriter.write(dir.resolve("y.safetensors"), List.of(b), Map.of());
        e = assertThrows(JvqException.class, () -> SafetensorsCheckpoint.open(dir));
        assertTrue(e.getMessage().contains("2 .safetensors files but no"), e.getMessage());
        Files.delete(dir.resolve("y.safetensors"));
        try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(dir)) {
            assertEquals(List.of(a.name()), ck.names());
        }
    }
}
