package dev.jvq.quant;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

/** Uniform sampling without replacement, reproducible from a seeded {@link SplittableRandom}. */
public final class Sampling {
    private Sampling() {}

    /**
     * The generator of one codebook's random draws: the user's seed mixed with a hash of the
     * codebook's key that is the same on every JVM (CRC32C and String.hashCode; hashCode alone is
     * only 32 bits), so each codebook draws independently and reproducibly.
     */
    public static SplittableRandom generatorFor(long seed, String key) {
        CRC32C crc = new CRC32C();
        crc.update(key.getBytes(StandardCharsets.UTF_8));
        long keyHash = crc.getValue() << 32 | (key.hashCode() & 0xFFFFFFFFL);
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ keyHash);
    }

    /**
     * {@code n} distinct values drawn uniformly from [0, population), sorted ascending. Floyd's
     * algorithm: O(n) expected time and memory whatever the population, so sampling a few hundred
     * thousand vectors out of a pooled model-wide population of billions stays cheap. The result
     * depends only on the generator's state, so the same seed gives the same sample everywhere.
     */
    public static long[] withoutReplacement(long population, int n, SplittableRandom rng) {
        if (n < 0 || n > population) {
            throw new IllegalArgumentException("cannot draw " + n + " of " + population + " without replacement");
        }
        long[] out = new long[n];
        if (n == population) {
            for (int i = 0; i < n; i++) {
                out[i] = i;
            }
            return out;
        }
        LongSet chosen = new LongSet(n);
        int filled = 0;
        for (long j = population - n; j < population; j++) {
            long t = rng.nextLong(j + 1);
            long pick = chosen.add(t) ? t : j;
            if (pick == j) {
                chosen.add(j);
            }
            out[filled++] = pick;
        }
        Arrays.sort(out);
        return out;
    }

    /** {@link #withoutReplacement} for int-sized populations. */
    public static int[] withoutReplacement(int population, int n, SplittableRandom rng) {
        long[] l = withoutReplacement((long) population, n, rng);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = (int) l[i];
        }
        return out;
    }

    /** Open-addressing set of non-negative longs (no boxing: samples reach hundreds of thousands). */
    private static final class LongSet {
        private final long[] slots;
        private final int mask;

        LongSet(int expected) {
            int cap = Integer.highestOneBit(Math.max(4, expected) * 2 - 1) << 1;
            slots = new long[cap];
            Arrays.fill(slots, -1L);
            mask = cap - 1;
        }

        /** Adds v; false when it was already present. */
        boolean add(long v) {
            int i = (int) mix(v) & mask;
            while (true) {
                long s = slots[i];
                if (s == -1L) {
                    slots[i] = v;
                    return true;
                }
                if (s == v) {
                    return false;
                }
                i = (i + 1) & mask;
            }
        }

        private static long mix(long z) {
            z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
            z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
            return z ^ (z >>> 33);
        }
    }
}
