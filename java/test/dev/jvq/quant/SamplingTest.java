package dev.jvq.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplingTest {

    @Test
    void distinctSortedInRangeAndReproducible() {
        long[] a = Sampling.withoutReplacement(1_000_003L, 5000, new SplittableRandom(3));
        long[] b = Sampling.withoutReplacement(1_000_003L, 5000, new SplittableRandom(3));
        assertArrayEquals(a, b);
        for (int i = 0; i < a.length; i++) {
            assertTrue(a[i] >= 0 && a[i] < 1_000_003L);
            if (i > 0) {
                assertTrue(a[i] > a[i - 1], "strictly ascending, hence distinct");
            }
        }
    }

    @Test
    void wholePopulationAndHugePopulation() {
        int[] all = Sampling.withoutReplacement(10, 10, new SplittableRandom(1));
        for (int i = 0; i < 10; i++) {
            assertEquals(i, all[i]);
        }
        long[] big = Sampling.withoutReplacement(5_000_000_000L, 100, new SplittableRandom(1));
        assertEquals(100, big.length);
        assertTrue(big[99] > Integer.MAX_VALUE, "reaches beyond int range");
    }

    @Test
    void roughlyUniform() {
        // 4000 draws of 500 out of 1000: each value is picked 2000 times on average (sd ≈ 32).
        int[] hits = new int[1000];
        SplittableRandom r = new SplittableRandom(5);
        for (int t = 0; t < 4000; t++) {
            for (int v : Sampling.withoutReplacement(1000, 500, r)) {
                hits[v]++;
            }
        }
        for (int h : hits) {
            assertTrue(Math.abs(h - 2000) < 300, "hit count " + h); // > 9 sigma
        }
    }
}
