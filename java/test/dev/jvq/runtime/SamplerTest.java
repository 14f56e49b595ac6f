package dev.jvq.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static MemorySegment logits(Arena a, float... v) {
        return a.allocateFrom(ValueLayout.JAVA_FLOAT, v);
    }

    @Test
    void greedyTakesTheFirstMaximum() {
        try (Arena a = Arena.ofConfined()) {
            assertEquals(1, new Sampler(0, 0.9, 1).sample(logits(a, 0.5f, 3f, -1f, 3f, 2f), 5));
        }
    }

    @Test
    void samplingFollowsTheDistribution() {
        try (Arena a = Arena.ofConfined()) {
            // Probabilities at temperature 1: softmax(log p) = p = 0.5, 0.3, 0.2.
            MemorySegment l = logits(a, (float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.2));
            Sampler s = new Sampler(1, 1, 42);
            int[] counts = new int[3];
            int n = 20000;
            for (int i = 0; i < n; i++) {
                counts[s.sample(l, 3)]++;
            }
            assertEquals(0.5, counts[0] / (double) n, 0.02);
            assertEquals(0.3, counts[1] / (double) n, 0.02);
            assertEquals(0.2, counts[2] / (double) n, 0.02);
        }
    }

    @Test
    void nucleusKeepsOnlyTheTopMass() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment l = logits(a, (float) Math.log(0.1), (float) Math.log(0.6), (float) Math.log(0.25),
                    (float) Math.log(0.05));
            // top-p 0.8: the nucleus is {1 (0.6), 2 (0.25)}: cumulative 0.85 > 0.8.
            Sampler s = new Sampler(1, 0.8, 7);
            int[] counts = new int[4];
            for (int i = 0; i < 10000; i++) {
                counts[s.sample(l, 4)]++;
            }
            assertEquals(0, counts[0] + counts[3]);
            assertEquals(0.6 / 0.85, counts[1] / 10000.0, 0.02);
            // A tiny top-p is greedy.
            Sampler g = new Sampler(1, 0.01, 7);
            for (int i = 0; i < 100; i++) {
                assertEquals(1, g.sample(l, 4));
            }
        }
    }

    @Test
    void sameSeedSameTokensAndBadSettingsRejected() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment l = logits(a, 0.1f, 0.2f, 0.3f, 0.05f, 0.4f, 0.0f);
            Sampler x = new Sampler(0.8, 0.95, 3);
            Sampler y = new Sampler(0.8, 0.95, 3);
            boolean varied = false;
            int first = x.sample(l, 6);
            assertEquals(first, y.sample(l, 6));
            for (int i = 0; i < 50; i++) {
                int t = x.sample(l, 6);
                assertEquals(t, y.sample(l, 6));
                varied |= t != first;
            }
            assertTrue(varied);
        }
        assertThrows(IllegalArgumentException.class, () -> new Sampler(-1, 0.9, 1));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(1, 1.5, 1));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(Double.NaN, 0.9, 1));
    }
}
