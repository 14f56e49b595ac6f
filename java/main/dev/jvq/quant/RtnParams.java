package dev.jvq.quant;

import dev.jvq.JvqException;

/**
 * Round-to-nearest integer quantisation (ALGORITHMS.md section 3).
 *
 * <p>Symmetric: per group {@code scale = max|w| / (2^(bits-1) - 1)}, {@code q = clamp(round(w/scale), ±(2^(bits-1)-1))},
 * one fp16 scale per group. With one group per row and 4 bits this is the paper's INT4 RTN
 * ({@code rtn4-row}).
 *
 * <p>Asymmetric ({@code -asym}): per group {@code lo = min w}, {@code scale = (max w - lo) / (2^bits - 1)},
 * {@code q = clamp(round((w - lo)/scale), 0, 2^bits - 1)}, {@code w ≈ lo + q·scale}. The zero point is stored
 * as the fp16 group minimum {@code lo} rather than as an integer offset: same 16 bits, but the
 * grid then spans exactly [min, max] instead of being shifted by the rounding of an integer zero.
 *
 * @param bits 2..8
 * @param group group length along d_in, or 0 for one group per row (a short last group when
 *     d_in is not a multiple; groups never straddle rows)
 * @param symmetric symmetric (scale only) or asymmetric (scale and minimum)
 */
public record RtnParams(int bits, int group, boolean symmetric) {

    public static final RtnParams INT4_ROW = new RtnParams(4, 0, true);

    public RtnParams {
        if (bits < 2 || bits > 8) {
            throw new JvqException("RTN bits must be in 2..8, got " + bits);
        }
        if (group < 0) {
            throw new JvqException("RTN group size must be at least 1, got " + group);
        }
    }

    /** Group length for a row of {@code cols} weights. */
    public int groupLength(long cols) {
        return group == 0 ? Math.toIntExact(cols) : group;
    }

    public long groupsPerRow(long cols) {
        long g = groupLength(cols);
        return (cols + g - 1) / g;
    }

    /** Largest |q| of the symmetric grid. */
    public int symmetricMax() {
        return (1 << (bits - 1)) - 1;
    }

    /** The method name: rtnN-row, rtnN-gG (symmetric), rtnN-row-asym, rtnN-gG-asym. */
    public String methodName() {
        String g = group == 0 ? "row" : "g" + group;
        String suffix = symmetric ? "" : "-asym";
        return "rtn" + bits + "-" + g + suffix;
    }
}
