package dev.jvq.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class TopKTest {

    /** Reference: full sort by (score descending, flat index ascending). */
    private static int[] bySorting(double[] s, int k) {
        return IntStream.range(0, s.length).boxed()
                .sorted(Comparator.<Integer>comparingDouble(i -> -s[i]).thenComparingInt(i -> i))
                .limit(k).mapToInt(Integer::intValue).sorted().toArray();
    }

    @Test
    void matchesSortingWithTiesToLowerIndex() {
        SplittableRandom r = new SplittableRandom(9);
        int rows = 37;
        int cols = 53;
        double[] s = new double[rows * cols];
        for (int i = 0; i < s.length; i++) {
            // few distinct values: many ties, including at the threshold
            s[i] = r.nextInt(4) == 0 ? r.nextDouble() : (r.nextInt(7) * 0.25);
        }
        s[5] = 0.0;
        for (int k : new int[] {0, 1, 2, 17, 300, 1000, rows * cols - 1, rows * cols}) {
            int[] got = TopK.largest(rows, cols, (a, b) -> s[a * cols + b], k);
            assertArrayEquals(bySorting(s, k), got, "k = " + k);
        }
    }

    @Test
    void distinguishesValuesDifferingInLowBits() {
        int n = 1000;
        double[] s = new double[n];
        for (int i = 0; i < n; i++) {
            s[i] = Math.nextUp(1.0 + (i % 7)) + Math.ulp(1.0) * (i % 13); // differences in the last bits
        }
        int[] got = TopK.largest(1, n, (a, b) -> s[b], 100);
        assertArrayEquals(bySorting(s, 100), got);
        assertEquals(100, Arrays.stream(got).distinct().count());
    }
}
