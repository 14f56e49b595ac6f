package dev.jvq.quant;

import dev.jvq.backend.Backend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Robust k-means of HAS-VQ (ALGORITHMS.md section 2, step 6) on an already drawn training sample:
 * K distinct sample vectors as initial centroids; each iteration one pass over the sample in
 * batches through {@link Backend#kmeansAssign} (nearest centroid, f64 sums, counts); live
 * centroids become the mean of their members and dead ones (no member) are revived onto the
 * training vectors — from a random subset of up to {@link #REVIVAL_SUBSET} — farthest from their
 * nearest live centroid.
 *
 * <p>Every random draw comes from the caller's seeded generator in a fixed order, and the kernel's
 * per-vector results do not depend on its thread count, so the centroids are a function of the
 * sample and the seed only.
 */
public final class KMeans {
    /** Size of the random subset searched for the worst-reconstructed vectors. */
    public static final int REVIVAL_SUBSET = 10_000;
    /** Vectors per kernel call. */
    static final int BATCH = 1 << 16;

    /**
     * @param centroids k x b, float32 (not yet rounded to fp16)
     * @param revived dead centroids moved onto worst-reconstructed vectors, over all iterations
     * @param deadAtEnd centroids that received no vector in the last pass
     */
    public record Result(float[] centroids, int k, int b, long revived, int deadAtEnd) {}

    private KMeans() {}

    /**
     * Trains k centroids on {@code n} vectors of length {@code b} stored contiguously (f32) in
     * {@code sample}. Requires 2 ≤ k ≤ n.
     */
    public static Result train(MemorySegment sample, int n, int b, int k, int iters, SplittableRandom rng,
            Backend backend) {
        if (k < 2 || k > n) {
            throw new IllegalArgumentException("k-means with " + k + " centroids on " + n + " vectors");
        }
        if (sample.byteSize() < (long) n * b * 4) {
            throw new IllegalArgumentException("sample segment too small for " + n + " x " + b);
        }
        float[] c = new float[k * b];
        int[] init = Sampling.withoutReplacement(n, k, rng);
        for (int j = 0; j < k; j++) {
            MemorySegment.copy(sample, LittleEndian.F32, (long) init[j] * b * 4, c, j * b, b);
        }
        long revived = 0;
        int dead = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cSeg = arena.allocate((long) k * b * 4, 64);
            MemorySegment idx = arena.allocate((long) Math.min(n, BATCH) * 4, 64);
            MemorySegment sums = arena.allocate((long) k * b * 8, 64);
            MemorySegment counts = arena.allocate((long) k * 8, 64);
            double[] s = new double[k * b];
            long[] cnt = new long[k];
            for (int it = 0; it < iters; it++) {
                MemorySegment.copy(c, 0, cSeg, LittleEndian.F32, 0, c.length);
                sums.fill((byte) 0);
                counts.fill((byte) 0);
                for (int start = 0; start < n; start += BATCH) {
                    int nb = Math.min(BATCH, n - start);
                    backend.kmeansAssign(sample.asSlice((long) start * b * 4, (long) nb * b * 4), nb, cSeg, k, b,
                            idx.asSlice(0, (long) nb * 4), MemorySegment.NULL, sums, counts);
                }
                MemorySegment.copy(sums, LittleEndian.F64, 0, s, 0, s.length);
                MemorySegment.copy(counts, LittleEndian.I64, 0, cnt, 0, k);
                List<Integer> deadUnits = new ArrayList<>();
                for (int j = 0; j < k; j++) {
                    if (cnt[j] == 0) {
                        deadUnits.add(j);
                        continue;
                    }
                    for (int d = 0; d < b; d++) {
                        c[j * b + d] = (float) (s[j * b + d] / cnt[j]);
                    }
                }
                dead = deadUnits.size();
                if (dead > 0) {
                    revived += revive(sample, n, b, k, c, deadUnits, rng, backend, arena);
                }
            }
        }
        return new Result(c, k, b, revived, dead);
    }

    /**
     * Moves the dead centroids (ascending index) onto the subset vectors farthest from their nearest
     * live centroid (descending distance, ties to the earlier sample position). Returns how many
     * moved: all of them unless the subset is smaller than the number of dead units.
     */
    private static int revive(MemorySegment sample, int n, int b, int k, float[] c, List<Integer> deadUnits,
            SplittableRandom rng, Backend backend, Arena arena) {
        int live = k - deadUnits.size();
        int m = Math.min(n, REVIVAL_SUBSET);
        int[] subset = Sampling.withoutReplacement(n, m, rng);
        MemorySegment vecs = arena.allocate((long) m * b * 4, 64);
        for (int i = 0; i < m; i++) {
            MemorySegment.copy(sample, (long) subset[i] * b * 4, vecs, (long) i * b * 4, (long) b * 4);
        }
        MemorySegment liveC = arena.allocate((long) live * b * 4, 64);
        boolean[] isDead = new boolean[k];
        for (int j : deadUnits) {
            isDead[j] = true;
        }
        for (int j = 0, l = 0; j < k; j++) {
            if (!isDead[j]) {
                MemorySegment.copy(c, j * b, liveC, LittleEndian.F32, (long) l++ * b * 4, b);
            }
        }
        MemorySegment idx = arena.allocate((long) m * 4, 64);
        MemorySegment dist = arena.allocate((long) m * 4, 64);
        backend.kmeansAssign(vecs, m, liveC, live, b, idx, dist, MemorySegment.NULL, MemorySegment.NULL);
        float[] d2 = new float[m];
        MemorySegment.copy(dist, LittleEndian.F32, 0, d2, 0, m);
        Integer[] order = new Integer[m];
        for (int i = 0; i < m; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> {
            int byDist = Float.compare(d2[y], d2[x]);
            return byDist != 0 ? byDist : Integer.compare(x, y);
        });
        int moved = Math.min(deadUnits.size(), m);
        for (int t = 0; t < moved; t++) {
            MemorySegment.copy(vecs, LittleEndian.F32, (long) order[t] * b * 4, c, deadUnits.get(t) * b, b);
        }
        return moved;
    }
}
