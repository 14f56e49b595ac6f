package dev.jvq.rsavq;

import dev.jvq.JvqException;
import dev.jvq.quant.BitPacker;

/**
 * The knobs of RSAVQ (docs RSAVQ.md). Reconstructions are named options so alternatives can be
 * measured.
 *
 * @param bits target bits per weight B for the indices (2, 3, 4 in the presets)
 * @param groups WCSG channel groups G, each with its own codebook (paper: 4)
 * @param vectorLength PQ vector length v along the output dimension (paper: 6)
 * @param subspaces product-quantisation sub-vectors per vector (paper: 2); v must be a multiple
 * @param lambda EDSG step λ along −Ñ (paper: best in 0.01..0.1; 0.05)
 * @param edsgIters EDSG iterations T after the k-means initialisation (R: 10)
 * @param kmeansIters k-means passes that initialise every codebook
 * @param stability training sub-vectors per codeword for the k-means initialisation (sample cap)
 * @param edsg EDSG on (Fisher-weighted updates towards W − λÑ); off: plain k-means codebooks
 * @param wcsg WCSG on (sensitivity order and per-group bits); off: identity order, every group at B
 * @param allocation the per-channel bit rule of WCSG
 * @param sensitivity the channel sensitivity WCSG ranks and allocates by
 * @param rowScale store an fp16 RMS scale per output row and quantise W/s (R: none in the paper's
 *     text; it lets one codebook serve rows and layers of different magnitude)
 * @param rescaleNaturalGradient scale Ñ per layer so its RMS equals that of W (R)
 * @param damping Fisher factor damping δ (added as δ·mean(diag))
 * @param seed seed of every random draw
 */
public record RsavqParams(int bits, int groups, int vectorLength, int subspaces, double lambda, int edsgIters,
        int kmeansIters, int stability, boolean edsg, boolean wcsg, AllocationRule allocation, Sensitivity sensitivity, boolean rowScale,
        boolean rescaleNaturalGradient, double damping, long seed) {

    public static final int PAPER_GROUPS = 4;
    public static final int PAPER_VECTOR_LENGTH = 6;
    public static final int PAPER_SUBSPACES = 2;
    public static final double PAPER_LAMBDA = 0.05;
    public static final int DEFAULT_EDSG_ITERS = 10;
    public static final int DEFAULT_KMEANS_ITERS = 15;
    public static final int DEFAULT_STABILITY = 200;
    /** Fewest bits per weight a WCSG group may get. */
    public static final int MIN_GROUP_BITS = 1;

    public RsavqParams {
        if (bits < 1 || bits > 8) {
            throw new JvqException("RSAVQ target bits must be 1..8, got " + bits);
        }
        if (groups < 1) {
            throw new JvqException("RSAVQ needs at least 1 channel group, got " + groups);
        }
        if (vectorLength < 1 || subspaces < 1 || vectorLength % subspaces != 0) {
            throw new JvqException("RSAVQ vector length " + vectorLength + " must be a positive multiple of the "
                    + subspaces + " PQ sub-vectors");
        }
        if (bits * (vectorLength / subspaces) > BitPacker.MAX_BITS) {
            throw new JvqException("RSAVQ at " + bits + " bits with sub-vectors of " + vectorLength / subspaces
                    + " needs " + bits * (vectorLength / subspaces) + "-bit codes; at most " + BitPacker.MAX_BITS
                    + " (use a shorter --vector-length or more sub-vectors)");
        }
        if (!(lambda >= 0) || Double.isInfinite(lambda)) {
            throw new JvqException("RSAVQ lambda must be a finite number ≥ 0, got " + lambda);
        }
        if (edsgIters < 0 || kmeansIters < 1 || stability < 1) {
            throw new JvqException("RSAVQ iterations: EDSG " + edsgIters + " (≥ 0), k-means " + kmeansIters
                    + " (≥ 1), stability " + stability + " (≥ 1)");
        }
        if (!(damping >= 0) || Double.isInfinite(damping)) {
            throw new JvqException("RSAVQ Fisher damping must be a finite number ≥ 0, got " + damping);
        }
        if (allocation == null || sensitivity == null) {
            throw new JvqException("RSAVQ needs a bit allocation rule and a channel sensitivity");
        }
    }

    /** The preset {@code rsavq-B}: the paper's method at B bits per weight. */
    public static RsavqParams preset(int bits) {
        return new RsavqParams(bits, PAPER_GROUPS, PAPER_VECTOR_LENGTH, PAPER_SUBSPACES, PAPER_LAMBDA,
                DEFAULT_EDSG_ITERS, DEFAULT_KMEANS_ITERS, DEFAULT_STABILITY, true, true, AllocationRule.PAPER, Sensitivity.PAPER, true,
                true, 1e-2, 0);
    }

    /**
     * The same layout without the Fisher-driven steps (EDSG and WCSG off) and with {@code kmeansIters}
     * k-means passes: what a kernel benchmark quantises a random matrix with, where no calibration
     * exists. The stored form and the GEMV are the same, with every group at the target width.
     */
    public RsavqParams withoutFisher(int kmeansPasses) {
        return new RsavqParams(bits, groups, vectorLength, subspaces, lambda, edsgIters, kmeansPasses, stability, false,
                false, allocation, sensitivity, rowScale, rescaleNaturalGradient, damping, seed);
    }

    /** Rows per PQ sub-vector: v / subspaces. */
    public int subLength() {
        return vectorLength / subspaces;
    }

    /** Most bits per weight a group may get: codes stay within {@link BitPacker#MAX_BITS}. */
    public int maxGroupBits() {
        return Math.min(8, BitPacker.MAX_BITS / subLength());
    }
}
