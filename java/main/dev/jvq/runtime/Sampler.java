package dev.jvq.runtime;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits. Temperature 0 is greedy (the first index among equal maxima);
 * otherwise the logits are divided by the temperature and soft-maxed, and with 0 < topP < 1 only
 * the smallest set of most likely tokens whose probabilities sum beyond topP is sampled from
 * (nucleus sampling, as llama2.c run.c does it). Deterministic for a given seed.
 */
public final class Sampler {
    private final double temperature;
    private final double topP;
    private final SplittableRandom random;

    public Sampler(double temperature, double topP, long seed) {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature " + temperature + " must be a finite number >= 0");
        }
        if (!(topP >= 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p " + topP + " must be in [0, 1]");
        }
        this.temperature = temperature;
        this.topP = topP;
        this.random = new SplittableRandom(seed);
    }

    public int sample(MemorySegment logits, int vocab) {
        if (temperature == 0) {
            return argmax(logits, vocab);
        }
        double[] p = new double[vocab];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            p[i] = logits.getAtIndex(ValueLayout.JAVA_FLOAT, i) / temperature;
            max = Math.max(max, p[i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            p[i] = Math.exp(p[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < vocab; i++) {
            p[i] /= sum;
        }
        double coin = random.nextDouble();
        return topP <= 0 || topP >= 1 ? multinomial(p, coin) : nucleus(p, coin);
    }

    static int argmax(MemorySegment logits, int vocab) {
        int best = 0;
        float bestValue = logits.getAtIndex(ValueLayout.JAVA_FLOAT, 0);
        for (int i = 1; i < vocab; i++) {
            float v = logits.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            if (v > bestValue) {
                bestValue = v;
                best = i;
            }
        }
        return best;
    }

    private static int multinomial(double[] p, double coin) {
        double cdf = 0;
        for (int i = 0; i < p.length; i++) {
            cdf += p[i];
            if (coin < cdf) {
                return i;
            }
        }
        return p.length - 1; // rounding left the cdf just below 1
    }

    private int nucleus(double[] p, double coin) {
        // Tokens below (1 - topP) / (n - 1) can never be in the nucleus; dropping them first keeps
        // the sort small (run.c's trick).
        double cutoff = (1 - topP) / (p.length - 1);
        int[] cand = new int[p.length];
        int n = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] >= cutoff) {
                cand[n++] = i;
            }
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = cand[i];
        }
        Arrays.sort(order, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
        double cumulative = 0;
        int last = n - 1;
        for (int i = 0; i < n; i++) {
            cumulative += p[order[i]];
            if (cumulative > topP) {
                last = i;
                break;
            }
        }
        double r = coin * cumulative;
        double cdf = 0;
        for (int i = 0; i <= last; i++) {
            cdf += p[order[i]];
            if (r < cdf) {
                return order[i];
            }
        }
        return order[last];
    }
}
