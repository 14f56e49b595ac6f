package dev.jvq.quant;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * Exact storage of a quantised model in bits (ALGORITHMS.md section 5), counted from what is
 * written: per layer by part, shared codebooks once for the model, and the three figures
 * <ul>
 *   <li>paper BPP: bits over parameters of all linear layers, the output head (tied or not) counted
 *       at 16 bits, embeddings not counted — how the published table was computed;
 *   <li>block BPP: the quantised (and any 16-bit) block linears only, without the head — the
 *       figure of the orientation table in ALGORITHMS.md section 7;
 *   <li>file BPP: the file's size in bits over every parameter of the model.
 * </ul>
 */
public record BitReport(List<Layer> layers, LinkedHashMap<String, Long> sharedCodebookBits, long denseLinearParams,
        long headParams, long modelParams, long fileBytes) {

    /** One quantised layer. */
    public record Layer(String name, String method, long rows, long cols, LinkedHashMap<String, Long> parts) {
        public long params() {
            return rows * cols;
        }

        public long bits() {
            return parts.values().stream().mapToLong(Long::longValue).sum();
        }

        public double bpp() {
            return (double) bits() / params();
        }
    }

    /**
     * @param denseLinearParams block linear weights left in 16-bit (counted at 16 bits)
     * @param headParams parameters of the output head (for tied embeddings, of the shared matrix)
     * @param modelParams every parameter of the model (a tied matrix once)
     * @param fileBytes size of the model file, or -1 when there is none yet
     */
    public static BitReport of(List<? extends QuantizedLayer> quantized, long denseLinearParams, long headParams,
            long modelParams, long fileBytes) {
        List<Layer> rows = new ArrayList<>();
        LinkedHashMap<String, Long> shared = new LinkedHashMap<>();
        for (QuantizedLayer q : quantized) {
            rows.add(new Layer(q.name(), q.method(), q.rows(), q.cols(), q.bitsByPart()));
            for (Codebook cb : sharedCodebooks(q)) {
                shared.putIfAbsent(cb.name(), cb.bits());
            }
        }
        return new BitReport(List.copyOf(rows), shared, denseLinearParams, headParams, modelParams, fileBytes);
    }

    /** The shared codebooks a layer uses (counted once per model, not in the layer's own parts). */
    public static List<Codebook> sharedCodebooks(QuantizedLayer q) {
        return switch (q) {
            case VqLinear vq -> vq.codebook().shared() ? List.of(vq.codebook()) : List.of();
            case RsavqLinear r -> r.groups().stream().map(PqGroup::codebook).filter(Codebook::shared).toList();
            case RtnLinear rtn -> List.of();
        };
    }

    public long quantizedParams() {
        return layers.stream().mapToLong(Layer::params).sum();
    }

    /** Bits of the quantised layers, shared codebooks included once. */
    public long quantizedBits() {
        return layers.stream().mapToLong(Layer::bits).sum() + sharedCodebookBits.values().stream()
                .mapToLong(Long::longValue).sum();
    }

    /** Totals by part over all layers, shared codebooks added to "codebook". */
    public LinkedHashMap<String, Long> totalsByPart() {
        LinkedHashMap<String, Long> t = new LinkedHashMap<>();
        for (Layer l : layers) {
            l.parts().forEach((k, v) -> t.merge(k, v, Long::sum));
        }
        long cb = sharedCodebookBits.values().stream().mapToLong(Long::longValue).sum();
        if (cb > 0) {
            t.merge("codebook", cb, Long::sum);
        }
        return t;
    }

    public double paperBpp() {
        long bits = quantizedBits() + (denseLinearParams + headParams) * 16;
        return (double) bits / (quantizedParams() + denseLinearParams + headParams);
    }

    public double blockBpp() {
        return (double) (quantizedBits() + denseLinearParams * 16) / (quantizedParams() + denseLinearParams);
    }

    /** NaN when there is no file. */
    public double fileBpp() {
        return fileBytes < 0 ? Double.NaN : fileBytes * 8.0 / modelParams;
    }
}
