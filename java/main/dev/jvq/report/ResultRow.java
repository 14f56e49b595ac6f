package dev.jvq.report;

/**
 * One row of the paper's Table 1: a quantised model and how it scores.
 *
 * @param method method name as given to {@code jvq quantize --method} ("fp" for the unquantised model)
 * @param configuration the parameters that matter, e.g. "b=4 K=2048 ρ=0.015 scope=kind"
 * @param ppl perplexity (mean of window losses, paper protocol)
 * @param paperBpp bits per parameter as the paper counts them (ALGORITHMS.md section 5: all linears,
 *     the output head at 16 bits)
 * @param blockBpp bits per parameter of the quantised block linears alone (ALGORITHMS.md section 7)
 * @param fileBpp file size in bits over all model parameters
 */
public record ResultRow(String method, String configuration, double ppl, double paperBpp, double blockBpp,
        double fileBpp) {

    /** Compression ratio against 16-bit weights, by paper BPP. */
    public double ratioTo16() {
        return 16.0 / paperBpp;
    }
}
