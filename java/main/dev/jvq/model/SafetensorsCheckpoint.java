package dev.jvq.model;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvq.JvqException;
import dev.jvq.tensor.Tensor;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tensors of a Hugging Face checkpoint, whether one {@code .safetensors} file or several shards
 * listed by a {@code model.safetensors.index.json} ({@code {"weight_map": {tensor: shard file}}}).
 * Each shard is mapped once; closing the checkpoint releases every mapping.
 */
public final class SafetensorsCheckpoint implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path source;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byTensor;

    private SafetensorsCheckpoint(Path source, List<SafetensorsFile> files, Map<String, SafetensorsFile> byTensor) {
        this.source = source;
        this.files = List.copyOf(files);
        this.byTensor = Collections.unmodifiableMap(byTensor);
    }

    /**
     * Opens a checkpoint from a model directory (its index if present, else model.safetensors, else
     * its only .safetensors file), from an index file, or from a single .safetensors file.
     */
    public static SafetensorsCheckpoint open(Path path) {
        if (Files.isDirectory(path)) {
            Path index = path.resolve(INDEX_FILE);
            if (Files.isRegularFile(index)) {
                return openIndex(index);
            }
            Path single = path.resolve(SINGLE_FILE);
            if (Files.isRegularFile(single)) {
                return openSingle(single);
            }
            List<Path> found = safetensorsIn(path);
            if (found.size() == 1) {
                return openSingle(found.getFirst());
            }
            throw JvqException.badFile(path, found.isEmpty()
                    ? "no " + SINGLE_FILE + " or " + INDEX_FILE + " in this directory"
                    : found.size() + " .safetensors files but no " + INDEX_FILE + " saying which tensor is where");
        }
        if (path.getFileName() != null && path.getFileName().toString().endsWith(".json")) {
            return openIndex(path);
        }
        return openSingle(path);
    }

    private static List<Path> safetensorsIn(Path dir) {
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.safetensors")) {
            ds.forEach(found::add);
        } catch (IOException e) {
            throw JvqException.badFile(dir, "cannot list: " + e.getMessage());
        }
        Collections.sort(found);
        return found;
    }

    private static SafetensorsCheckpoint openSingle(Path file) {
        SafetensorsFile f = SafetensorsFile.open(file);
        Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        for (String name : f.names()) {
            byTensor.put(name, f);
        }
        return new SafetensorsCheckpoint(file, List.of(f), byTensor);
    }

    private static SafetensorsCheckpoint openIndex(Path index) {
        Map<String, String> weightMap = readWeightMap(index);
        Path dir = index.toAbsolutePath().getParent();
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                SafetensorsFile shard = shards.get(e.getValue());
                if (shard == null) {
                    Path p = dir.resolve(e.getValue()).normalize();
                    if (!p.startsWith(dir)) {
                        throw JvqException.badFile(index, "shard '" + e.getValue() + "' lies outside " + dir);
                    }
                    if (!Files.exists(p)) {
                        throw JvqException.badFile(index, "shard '" + e.getValue() + "' (holding tensor '"
                                + e.getKey() + "') does not exist");
                    }
                    shard = SafetensorsFile.open(p);
                    shards.put(e.getValue(), shard);
                }
                if (!shard.contains(e.getKey())) {
                    throw JvqException.badFile(shard.path(), "no tensor '" + e.getKey() + "' although " + index
                            + " places it there");
                }
                byTensor.put(e.getKey(), shard);
            }
        } catch (RuntimeException | Error ex) {
            shards.values().forEach(SafetensorsFile::close);
            throw ex;
        }
        return new SafetensorsCheckpoint(index, new ArrayList<>(shards.values()), byTensor);
    }

    private static Map<String, String> readWeightMap(Path index) {
        JsonNode root;
        try {
            root = JSON.readTree(index.toFile());
        } catch (NoSuchFileException e) {
            throw JvqException.badFile(index, "no such file");
        } catch (JsonProcessingException e) {
            throw JvqException.badFile(index, "malformed JSON: " + e.getOriginalMessage().replaceAll("\\s+", " "));
        } catch (IOException e) {
            throw JvqException.badFile(index, "cannot read: " + e.getMessage());
        }
        JsonNode wm = root == null ? null : root.get("weight_map");
        if (wm == null || !wm.isObject()) {
            throw JvqException.badFile(index, "no \"weight_map\" object");
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = wm.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (!f.getValue().isTextual() || f.getValue().textValue().isEmpty()) {
                throw JvqException.badFile(index, "weight_map: the shard of '" + f.getKey() + "' is not a file name");
            }
            m.put(f.getKey(), f.getValue().textValue());
        }
        if (m.isEmpty()) {
            throw JvqException.badFile(index, "weight_map is empty");
        }
        return m;
    }

    /** The file or index the checkpoint was opened from. */
    public Path source() {
        return source;
    }

    /** The mapped files (one, or each shard once). */
    public List<SafetensorsFile> files() {
        return files;
    }

    /** Tensor names: header order for one file, index order for shards. */
    public List<String> names() {
        return List.copyOf(byTensor.keySet());
    }

    public boolean contains(String name) {
        return byTensor.containsKey(name);
    }

    /** The tensor {@code name}, a slice of its shard's mapping; one line naming the source when absent. */
    public Tensor tensor(String name) {
        SafetensorsFile f = byTensor.get(name);
        if (f == null) {
            throw JvqException.badFile(source, "no tensor '" + name + "'");
        }
        return f.tensor(name);
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
