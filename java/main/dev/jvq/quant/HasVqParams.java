package dev.jvq.quant;

import dev.jvq.JvqException;

/**
 * The knobs of HAS-VQ (ALGORITHMS.md section 2).
 *
 * @param block vector length b (≥ 1)
 * @param centroids codebook size K (≥ 2; clamped per codebook when fewer vectors exist)
 * @param sparsity fraction ρ of each matrix kept as exact sparse outliers, in [0, 0.5)
 * @param stability training vectors per centroid: k-means trains on min(M, K·stability) vectors
 * @param iters k-means passes over the training sample (≥ 1)
 * @param seed seed of every random draw (sampling, initial centroids, dead-unit revival)
 */
public record HasVqParams(int block, int centroids, double sparsity, int stability, int iters, long seed) {

    /** The paper's "mid" preset (SmolLM2-1.7B, about 4.2 bits per weight). */
    public static final HasVqParams MID = new HasVqParams(4, 2048, 0.015, 200, 15, 0);
    /** The paper's "high" preset (about 7 bits per weight). */
    public static final HasVqParams HIGH = new HasVqParams(2, 2048, 0.020, 200, 15, 0);

    public HasVqParams {
        if (block < 1) {
            throw new JvqException("HAS-VQ block size b must be at least 1, got " + block);
        }
        if (centroids < 2) {
            throw new JvqException("HAS-VQ needs at least 2 centroids (K), got " + centroids);
        }
        if (centroids > (1 << BitPacker.MAX_BITS)) {
            throw new JvqException("HAS-VQ centroids K = " + centroids + " exceeds " + (1 << BitPacker.MAX_BITS)
                    + " (codes are at most " + BitPacker.MAX_BITS + " bits)");
        }
        if (!(sparsity >= 0 && sparsity < 0.5)) {
            throw new JvqException("HAS-VQ sparsity rho must be in [0, 0.5), got " + sparsity);
        }
        if (stability < 1) {
            throw new JvqException("HAS-VQ stability must be at least 1, got " + stability);
        }
        if (iters < 1) {
            throw new JvqException("HAS-VQ k-means iterations must be at least 1, got " + iters);
        }
    }

    public HasVqParams withSeed(long newSeed) {
        return new HasVqParams(block, centroids, sparsity, stability, iters, newSeed);
    }

    /** Index width: ceil(log2 K). */
    public int indexBits() {
        return BitPacker.bitsFor(centroids);
    }
}
