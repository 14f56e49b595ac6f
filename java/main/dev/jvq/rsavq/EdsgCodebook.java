package dev.jvq.rsavq;

import dev.jvq.backend.Backend;
import dev.jvq.quant.KMeans;
import dev.jvq.quant.LittleEndian;
import dev.jvq.quant.Sampling;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/**
 * Trains one PQ codebook table and codes its sub-vectors (RSAVQ.md, EDSG):
 * <ol>
 *   <li>k-means initialisation (the robust k-means of HAS-VQ) on a sample of the whole sub-vectors;
 *   <li>with EDSG, T iterations of: assignment of every sub-vector to its nearest codeword
 *       (Euclidean, as in Algorithm 1), then the closed-form update that minimises
 *       Σ w ‖ĉ − (u − λñ)‖² over each codeword's members, coordinate by coordinate
 *       (C_i[d] = Σ w_{l,d}(u_{l,d} − λñ_{l,d}) / Σ w_{l,d});
 *   <li>rounding to fp16 and the final assignment against the rounded codewords.
 * </ol>
 * Coordinates past a column's last row carry weight 0: they neither pull a codeword nor count in a
 * distance.
 */
final class EdsgCodebook {
    /** Sub-vectors per assignment kernel call. */
    private static final int BATCH = 1 << 16;

    /** Codewords (k x length, values exactly representable in fp16) and one code per sub-vector. */
    record Result(float[] codewords, int k, int[] codes) {}

    private EdsgCodebook() {}

    /** Requires 2 ≤ k ≤ the number of whole (not tail) sub-vectors. */
    static Result train(SubVectorSet set, int k, RsavqParams p, SplittableRandom rng, Backend backend) {
        int len = set.length;
        int n = set.size();
        int whole = 0;
        for (int i = 0; i < n; i++) {
            whole += set.valid(i) == len ? 1 : 0;
        }
        if (k < 2 || k > whole) {
            throw new IllegalArgumentException("PQ codebook of " + k + " codewords on " + whole + " whole sub-vectors");
        }
        int[] wholeIndex = new int[whole];
        for (int i = 0, w = 0; i < n; i++) {
            if (set.valid(i) == len) {
                wholeIndex[w++] = i;
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment vectors = arena.allocate((long) whole * len * 4, 64);
            float[] raw = set.rawValues();
            for (int w = 0; w < whole; w++) {
                MemorySegment.copy(raw, wholeIndex[w] * len, vectors, LittleEndian.F32, (long) w * len * 4, len);
            }
            int nTrain = (int) Math.min(whole, (long) k * p.stability());
            MemorySegment sample = vectors;
            if (nTrain < whole) {
                int[] pick = Sampling.withoutReplacement(whole, nTrain, rng);
                java.util.Arrays.sort(pick);
                sample = arena.allocate((long) nTrain * len * 4, 64);
                for (int t = 0; t < nTrain; t++) {
                    MemorySegment.copy(vectors, (long) pick[t] * len * 4, sample, (long) t * len * 4, (long) len * 4);
                }
            }
            float[] c = KMeans.train(sample, nTrain, len, k, p.kmeansIters(), rng, backend).centroids();
            Assigner assigner = new Assigner(set, wholeIndex, vectors, k, backend, arena);
            if (p.edsg()) {
                for (int it = 0; it < p.edsgIters(); it++) {
                    int[] codes = assigner.assign(c);
                    update(set, codes, c, k);
                }
            }
            for (int i = 0; i < c.length; i++) {
                c[i] = Float.float16ToFloat(Float.floatToFloat16(c[i]));
            }
            return new Result(c, k, assigner.assign(c));
        }
    }

    /** The weighted, target-shifted centroid update; a codeword with no weight on a coordinate keeps it. */
    static void update(SubVectorSet set, int[] codes, float[] c, int k) {
        int len = set.length;
        double[] num = new double[k * len];
        double[] den = new double[k * len];
        for (int i = 0; i < codes.length; i++) {
            int o = codes[i] * len;
            for (int d = 0; d < len; d++) {
                double w = set.weight(i, d);
                num[o + d] += w * set.target(i, d);
                den[o + d] += w;
            }
        }
        for (int j = 0; j < k * len; j++) {
            if (den[j] > 0) {
                c[j] = (float) (num[j] / den[j]);
            }
        }
    }

    /** Nearest codeword for every sub-vector: the batched kernel for whole ones, a masked loop for tails. */
    private static final class Assigner {
        private final SubVectorSet set;
        private final int[] wholeIndex;
        private final MemorySegment vectors;
        private final MemorySegment centroids;
        private final MemorySegment idx;
        private final int k;
        private final Backend backend;

        Assigner(SubVectorSet set, int[] wholeIndex, MemorySegment vectors, int k, Backend backend, Arena arena) {
            this.set = set;
            this.wholeIndex = wholeIndex;
            this.vectors = vectors;
            this.k = k;
            this.backend = backend;
            centroids = arena.allocate((long) k * set.length * 4, 64);
            idx = arena.allocate((long) Math.min(Math.max(wholeIndex.length, 1), BATCH) * 4, 64);
        }

        int[] assign(float[] c) {
            int len = set.length;
            MemorySegment.copy(c, 0, centroids, LittleEndian.F32, 0, c.length);
            int[] codes = new int[set.size()];
            for (int start = 0; start < wholeIndex.length; start += BATCH) {
                int nb = Math.min(BATCH, wholeIndex.length - start);
                backend.kmeansAssign(vectors.asSlice((long) start * len * 4, (long) nb * len * 4), nb, centroids, k, len,
                        idx.asSlice(0, (long) nb * 4), MemorySegment.NULL, MemorySegment.NULL, MemorySegment.NULL);
                for (int t = 0; t < nb; t++) {
                    codes[wholeIndex[start + t]] = idx.getAtIndex(LittleEndian.I32, t);
                }
            }
            for (int i = 0; i < codes.length; i++) {
                int valid = set.valid(i);
                if (valid == len) {
                    continue;
                }
                int best = 0;
                double bestD = Double.POSITIVE_INFINITY;
                for (int j = 0; j < k; j++) {
                    double dist = 0;
                    for (int d = 0; d < valid; d++) {
                        double e = (double) set.value(i, d) - c[j * len + d];
                        dist += e * e;
                    }
                    if (dist < bestD) {
                        bestD = dist;
                        best = j;
                    }
                }
                codes[i] = best;
            }
            return codes;
        }
    }
}
