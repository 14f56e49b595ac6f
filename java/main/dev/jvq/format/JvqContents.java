package dev.jvq.format;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvq.quant.BitReport;
import dev.jvq.quant.Codebook;
import dev.jvq.quant.QuantizedLayer;
import dev.jvq.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything a .jvq file holds, independent of any model class: free JSON metadata (model config,
 * method, parameters — whatever the writer puts there), an optional tokenizer blob, named
 * unquantised tensors with their role, and named quantised layers (shared codebooks are reached
 * through the layers that use them).
 */
public record JvqContents(ObjectNode metadata, TokenizerBlob tokenizer, List<StoredTensor> tensors,
        List<QuantizedLayer> layers) {

    /** The tokenizer file's bytes, opaque here, and what kind of tokenizer they are (e.g. "llama2c"). */
    public record TokenizerBlob(String kind, MemorySegment bytes) {}

    /** An unquantised tensor, stored in its own dtype. */
    public record StoredTensor(Tensor tensor, TensorRole role) {}

    public JvqContents {
        metadata = metadata == null ? JsonNodeFactory.instance.objectNode() : metadata;
        tensors = List.copyOf(tensors);
        layers = List.copyOf(layers);
    }

    /** Shared codebooks in first-use order. */
    public List<Codebook> sharedCodebooks() {
        Map<String, Codebook> m = new LinkedHashMap<>();
        for (QuantizedLayer l : layers) {
            for (Codebook cb : BitReport.sharedCodebooks(l)) {
                m.putIfAbsent(cb.name(), cb);
            }
        }
        return new ArrayList<>(m.values());
    }

    public Tensor tensor(String name) {
        return tensors.stream().map(StoredTensor::tensor).filter(t -> t.name().equals(name)).findFirst().orElse(null);
    }

    public QuantizedLayer layer(String name) {
        return layers.stream().filter(l -> l.name().equals(name)).findFirst().orElse(null);
    }

    /** Every parameter of the model: unquantised tensors plus quantised weights. */
    public long modelParams() {
        return tensors.stream().mapToLong(t -> t.tensor().elements()).sum()
                + layers.stream().mapToLong(QuantizedLayer::weightCount).sum();
    }

    public long headParams() {
        return tensors.stream().filter(t -> t.role().isHead()).mapToLong(t -> t.tensor().elements()).sum();
    }

    public long denseLinearParams() {
        return tensors.stream().filter(t -> t.role() == TensorRole.LINEAR).mapToLong(t -> t.tensor().elements()).sum();
    }

    /** Bit accounting of these contents; {@code fileBytes} is -1 when not written yet. */
    public BitReport bitReport(long fileBytes) {
        return BitReport.of(layers, denseLinearParams(), headParams(), modelParams(), fileBytes);
    }
}
