package dev.jvq.quant;

import dev.jvq.runtime.Linear;

/** A linear layer stored in a quantised form: HAS-VQ codes or RTN integers. */
public sealed interface QuantizedLayer extends Linear permits VqLinear, RtnLinear, RsavqLinear {

    String name();

    /** Weights represented: rows·cols. */
    default long weightCount() {
        return rows() * cols();
    }

    /** Method name for reports (e.g. "hasvq b=4 K=2048" or "rtn4-row"). */
    String method();

    /** Storage in bits by part, in the order reports print them (ALGORITHMS.md section 5). */
    java.util.LinkedHashMap<String, Long> bitsByPart();
}
