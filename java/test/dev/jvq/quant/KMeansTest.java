package dev.jvq.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.backend.CpuBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class KMeansTest {
    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = new CpuBackend();
    }

    @AfterEach
    void allThreads() {
        cpu.setThreads(0);
    }

    /** n vectors of length b around `clusters` random centres; the first `zeros` vectors are exact zeros. */
    static float[] clustered(int n, int b, int clusters, int zeros, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] centres = new double[clusters * b];
        for (int i = 0; i < centres.length; i++) {
            centres[i] = r.nextDouble() * 2 - 1;
        }
        float[] v = new float[n * b];
        for (int i = zeros; i < n; i++) {
            int c = r.nextInt(clusters);
            for (int d = 0; d < b; d++) {
                v[i * b + d] = (float) (centres[c * b + d] + 0.03 * TestData.gaussian(r));
            }
        }
        return v;
    }

    /** Float64 reference of the algorithm, drawing from the generator in the same order. */
    static double[] reference(float[] v, int n, int b, int k, int iters, SplittableRandom rng, long[] revivedOut) {
        double[] c = new double[k * b];
        int[] init = Sampling.withoutReplacement(n, k, rng);
        for (int j = 0; j < k; j++) {
            for (int d = 0; d < b; d++) {
                c[j * b + d] = v[init[j] * b + d];
            }
        }
        for (int it = 0; it < iters; it++) {
            double[] sums = new double[k * b];
            long[] counts = new long[k];
            for (int i = 0; i < n; i++) {
                int j = nearest(v, i, b, c, k, null);
                counts[j]++;
                for (int d = 0; d < b; d++) {
                    sums[j * b + d] += v[i * b + d];
                }
            }
            List<Integer> dead = new ArrayList<>();
            boolean[] isDead = new boolean[k];
            for (int j = 0; j < k; j++) {
                if (counts[j] == 0) {
                    dead.add(j);
                    isDead[j] = true;
                } else {
                    for (int d = 0; d < b; d++) {
                        c[j * b + d] = sums[j * b + d] / counts[j];
                    }
                }
            }
            if (!dead.isEmpty()) {
                int m = Math.min(n, KMeans.REVIVAL_SUBSET);
                int[] subset = Sampling.withoutReplacement(n, m, rng);
                double[] dist = new double[m];
                for (int i = 0; i < m; i++) {
                    double[] d2 = new double[1];
                    nearest(v, subset[i], b, c, k, isDead, d2);
                    dist[i] = d2[0];
                }
                Integer[] order = new Integer[m];
                for (int i = 0; i < m; i++) {
                    order[i] = i;
                }
                Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -dist[i]).thenComparingInt(i -> i));
                for (int t = 0; t < Math.min(dead.size(), m); t++) {
                    for (int d = 0; d < b; d++) {
                        c[dead.get(t) * b + d] = v[subset[order[t]] * b + d];
                    }
                    revivedOut[0]++;
                }
            }
        }
        return c;
    }

    static int nearest(float[] v, int i, int b, double[] c, int k, boolean[] skip) {
        return nearest(v, i, b, c, k, skip, null);
    }

    static int nearest(float[] v, int i, int b, double[] c, int k, boolean[] skip, double[] distOut) {
        int best = -1;
        double bd = Double.MAX_VALUE;
        for (int j = 0; j < k; j++) {
            if (skip != null && skip[j]) {
                continue;
            }
            double s = 0;
            for (int d = 0; d < b; d++) {
                double e = v[i * b + d] - c[j * b + d];
                s += e * e;
            }
            if (s < bd) {
                bd = s;
                best = j;
            }
        }
        if (distOut != null) {
            distOut[0] = bd;
        }
        return best;
    }

    private static KMeans.Result train(float[] v, int n, int b, int k, int iters, long seed) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate((long) v.length * 4, 64);
            MemorySegment.copy(v, 0, s, LittleEndian.F32, 0, v.length);
            return KMeans.train(s, n, b, k, iters, new SplittableRandom(seed), cpu);
        }
    }

    private static void assertClose(double[] ref, float[] got, double tol) {
        assertEquals(ref.length, got.length);
        for (int i = 0; i < ref.length; i++) {
            assertEquals(ref[i], got[i], tol, "centroid element " + i);
        }
    }

    @Test
    void matchesFloat64Reference() {
        int n = 3001;
        int b = 3;
        int k = 12;
        float[] v = clustered(n, b, 12, 0, 1);
        KMeans.Result r = train(v, n, b, k, 8, 42);
        long[] revived = new long[1];
        double[] ref = reference(v, n, b, k, 8, new SplittableRandom(42), revived);
        assertClose(ref, r.centroids(), 1e-5);
        assertEquals(revived[0], r.revived());
    }

    @Test
    void revivesDeadUnitsOntoWorstReconstructedVectors() {
        // 40% exact duplicates: several initial centroids coincide, ties go to the lowest index and
        // the others receive nothing in the first pass.
        int n = 2000;
        int b = 2;
        int k = 16;
        float[] v = clustered(n, b, 30, 800, 3);
        KMeans.Result r = train(v, n, b, k, 6, 7);
        long[] revived = new long[1];
        double[] ref = reference(v, n, b, k, 6, new SplittableRandom(7), revived);
        assertTrue(r.revived() > 0, "the scenario must exercise revival");
        assertEquals(revived[0], r.revived());
        assertClose(ref, r.centroids(), 1e-5);
        assertEquals(0, r.deadAtEnd(), "revived centroids sit on real, badly served points and stay alive");
    }

    @Test
    void largeSubsetPathAndSingleIteration() {
        // n > 10 000: revival searches a random subset only; one vector per centroid is possible too.
        int n = 12_345;
        int b = 4;
        float[] v = clustered(n, b, 50, 3000, 11);
        KMeans.Result r = train(v, n, b, 64, 3, 5);
        long[] revived = new long[1];
        double[] ref = reference(v, n, b, 64, 3, new SplittableRandom(5), revived);
        assertTrue(r.revived() > 0);
        assertClose(ref, r.centroids(), 1e-5);
        // k = n distinct vectors: every vector becomes its own centroid
        float[] five = Arrays.copyOfRange(v, 3000 * b, 3005 * b);
        KMeans.Result tiny = train(five, 5, b, 5, 1, 1);
        assertEquals(0, tiny.deadAtEnd());
        float[] sorted = tiny.centroids().clone();
        assertEquals(0, tiny.revived());
        for (int i = 0; i < 5; i++) {
            final int vec = i;
            assertTrue(java.util.stream.IntStream.range(0, 5).anyMatch(j -> Arrays.equals(
                    Arrays.copyOfRange(sorted, j * b, j * b + b), Arrays.copyOfRange(five, vec * b, vec * b + b))));
        }
    }

    @Test
    void sameSeedSameCentroidsOnOneAndTwoThreads() {
        int n = 40_000; // large enough that the kernel really splits work over 2 threads
        int b = 2;
        float[] v = clustered(n, b, 300, 5000, 13);
        cpu.setThreads(1);
        KMeans.Result one = train(v, n, b, 256, 4, 99);
        cpu.setThreads(2);
        KMeans.Result two = train(v, n, b, 256, 4, 99);
        assertArrayEquals(one.centroids(), two.centroids());
        KMeans.Result other = train(v, n, b, 256, 4, 100);
        assertTrue(!Arrays.equals(one.centroids(), other.centroids()), "the seed matters");
    }
}
