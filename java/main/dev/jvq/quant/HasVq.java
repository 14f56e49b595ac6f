package dev.jvq.quant;

import dev.jvq.JvqException;
import dev.jvq.backend.Backend;
import dev.jvq.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * HAS-VQ for one matrix, split where a shared codebook needs it: {@link #prepare} runs steps 1–5
 * (row scales, importance, outlier set, masked body, blocking) and {@link #encode} steps 7–8
 * (assignment of every vector to a codebook, sparse residuals). Step 6, k-means, is
 * {@link KMeans}; {@link HasVqQuantizer} strings the steps together for one or many matrices.
 */
public final class HasVq {
    /** Vectors per assignment kernel call in {@link #encode}. */
    static final int BATCH = 1 << 16;

    private HasVq() {}

    /**
     * A matrix after steps 1–5.
     *
     * @param rowScales s_i as fp16 bits
     * @param outliers Ω as flat indices, ascending
     * @param outlierValues N at Ω (before masking), aligned with {@code outliers}
     * @param body the masked, zero-padded body B flattened row-major: M vectors of length b, f32
     */
    public record Prepared(String name, int rows, int cols, int block, short[] rowScales, int[] outliers,
            float[] outlierValues, MemorySegment body) {

        /** M = ceil(rows·cols / b). */
        public long vectors() {
            return VqLinear.vectors(rows, cols, block);
        }

        /** Vector v (length b) of the body, f32. */
        public MemorySegment vector(long v) {
            return body.asSlice(v * block * 4, (long) block * 4);
        }
    }

    /** |Ω| = floor(ρ · d_out · d_in), with ρ taken as the decimal it was written as (0.015 is 15/1000). */
    public static int outlierCount(double sparsity, long rows, long cols) {
        return BigDecimal.valueOf(sparsity).multiply(BigDecimal.valueOf(rows * cols))
                .setScale(0, RoundingMode.FLOOR).intValueExact();
    }

    /**
     * Steps 1–5 for {@code weight} (2-D, d_out x d_in) with Hessian diagonal {@code h} (length d_in;
     * null means all ones). The body is allocated in {@code arena}.
     */
    public static Prepared prepare(String name, Tensor weight, float[] h, HasVqParams p, Arena arena) {
        WeightRows in = new WeightRows(weight);
        int rows = in.rows();
        int cols = in.cols();
        if (h != null && h.length != cols) {
            throw new JvqException(name + ": Hessian diagonal has " + h.length + " entries for " + cols + " input columns");
        }
        double[] sqrtH = new double[cols];
        for (int j = 0; j < cols; j++) {
            float hj = h == null ? 1f : h[j];
            if (!(hj >= 0) || Float.isInfinite(hj)) {
                throw new JvqException(name + ": Hessian diagonal entry " + j + " is " + hj + " (must be finite, >= 0)");
            }
            sqrtH[j] = Math.sqrt(Math.max(hj, 1e-6));
        }
        int b = p.block();
        long m = VqLinear.vectors(rows, cols, b);
        MemorySegment body = arena.allocate(m * b * 4, 64); // zeroed: the padding is already in place
        short[] scales = new short[rows];
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            in.read(r, row);
            float amax = 0;
            for (float w : row) {
                amax = Math.max(amax, Math.abs(w));
            }
            short s16 = Float.floatToFloat16(Math.max(amax, 1e-6f));
            float s = Float.float16ToFloat(s16);
            if (Float.isInfinite(s)) {
                throw new JvqException(name + ": row " + r + " has |w| up to " + amax + ", beyond the fp16 range of row scales");
            }
            scales[r] = s16;
            // N is formed with the fp16-rounded scale actually stored, not the exact one: then
            // s16 · (R + S) reproduces W at the outliers up to the fp16 rounding of S alone, as
            // step 8 promises (dividing by the exact scale would add the scale's rounding error).
            long base = (long) r * cols;
            for (int c = 0; c < cols; c++) {
                body.setAtIndex(LittleEndian.F32, base + c, row[c] / s);
            }
        }
        int k = outlierCount(p.sparsity(), rows, cols);
        long[] keys = new long[rows * cols];
        for (int r = 0, f = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++, f++) {
                keys[f] = TopK.key(Math.abs((double) body.getAtIndex(LittleEndian.F32, f)) * sqrtH[c]);
            }
        }
        int[] omega = TopK.largest(keys, k);
        keys = null; // 8 bytes per weight: let it go before the caller allocates more
        float[] values = new float[k];
        for (int i = 0; i < k; i++) {
            values[i] = body.getAtIndex(LittleEndian.F32, omega[i]);
            body.setAtIndex(LittleEndian.F32, omega[i], 0f); // holes are zeros, not removed
        }
        return new Prepared(name, rows, cols, b, scales, omega, values, body);
    }

    /**
     * Steps 7–8: every vector gets its nearest codeword of {@code codebook} (the fp16 values, as
     * stored, so that the chosen codeword is the nearest one the decoder will see), codes are packed
     * at ceil(log2 K) bits, and each outlier stores S = N − R in fp16. Output buffers come from
     * {@code arena}.
     */
    public static VqLinear encode(Prepared pm, Codebook codebook, Backend backend, Arena arena) {
        int b = pm.block();
        if (codebook.b() != b) {
            throw new IllegalArgumentException(pm.name() + ": codebook of block " + codebook.b() + " for block " + b);
        }
        int k = codebook.k();
        int bits = BitPacker.bitsFor(k);
        long m = pm.vectors();
        float[] cb = codebook.toFloats();
        MemorySegment codes = arena.allocate(BitPacker.packedBytes(m, bits) + BitPacker.TAIL_BYTES, 64);
        int nnz = pm.outliers().length;
        MemorySegment sparseIndex = arena.allocate((long) nnz * 4, 64);
        MemorySegment sparseValues = arena.allocate((long) nnz * 2, 64);
        MemorySegment rowScales = arena.allocate((long) pm.rows() * 2, 64);
        MemorySegment.copy(pm.rowScales(), 0, rowScales, LittleEndian.I16, 0, pm.rows());
        BitPacker.Writer out = new BitPacker.Writer(codes, bits);
        int[] idx = new int[(int) Math.min(m, BATCH)];
        int next = 0; // next outlier to resolve; Ω is sorted, so it follows the batches
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment cSeg = scratch.allocate((long) cb.length * 4, 64);
            MemorySegment.copy(cb, 0, cSeg, LittleEndian.F32, 0, cb.length);
            MemorySegment idxSeg = scratch.allocate((long) idx.length * 4, 64);
            for (long v0 = 0; v0 < m; v0 += BATCH) {
                int nb = (int) Math.min(BATCH, m - v0);
                backend.kmeansAssign(pm.body().asSlice(v0 * b * 4, (long) nb * b * 4), nb, cSeg, k, b,
                        idxSeg.asSlice(0, (long) nb * 4), MemorySegment.NULL, MemorySegment.NULL, MemorySegment.NULL);
                MemorySegment.copy(idxSeg, LittleEndian.I32, 0, idx, 0, nb);
                for (int i = 0; i < nb; i++) {
                    out.write(idx[i]);
                }
                long endFlat = (v0 + nb) * b;
                while (next < nnz && pm.outliers()[next] < endFlat) {
                    int f = pm.outliers()[next];
                    float r = cb[idx[(int) (f / b - v0)] * b + f % b];
                    sparseIndex.setAtIndex(LittleEndian.I32, next, f);
                    sparseValues.setAtIndex(LittleEndian.I16, next, Float.floatToFloat16(pm.outlierValues()[next] - r));
                    next++;
                }
            }
        }
        out.finish();
        return new VqLinear(pm.name(), pm.rows(), pm.cols(), codebook, bits, codes, rowScales, nnz, sparseIndex,
                sparseValues);
    }

    /** Rounds trained centroids to the fp16 codebook that is stored (and assigned against). */
    public static Codebook toCodebook(String sharedName, float[] centroids, int k, int b, Arena arena) {
        MemorySegment data = arena.allocate((long) k * b * 2, 64);
        for (int i = 0; i < k * b; i++) {
            data.setAtIndex(LittleEndian.I16, i, Float.floatToFloat16(centroids[i]));
        }
        return new Codebook(sharedName, k, b, data);
    }
}
