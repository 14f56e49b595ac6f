package dev.jvq.rsavq;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * WCSG bit allocation (RSAVQ.md): bits per channel by an {@link AllocationRule}, channels sorted by
 * sensitivity (descending) into near-equal groups, one bit width per group, rebalanced to the layer's
 * budget of targetBits·n index bits per output row.
 *
 * <p>The rebalancing is exact whenever minBits ≤ targetBits ≤ maxBits: every group at targetBits is
 * a witness, and the search below finds the allocation that meets the budget with the fewest bits
 * moved. With targetBits above maxBits the closest total not above the budget is every group at
 * maxBits; targetBits below minBits is rejected (no total is at or below the budget).
 */
public final class BitAllocation {
    private BitAllocation() {
    }

    /**
     * The WCSG plan. Group g's width starts at round(mean b_c over its channels) clamped to
     * [minBits, maxBits] (call it r_g); the final widths b_g are the ones that (1) meet the budget
     * exactly, or else come closest from below, (2) keep b_g non-increasing from the most to the least
     * sensitive group, as r_g is, (3) move the fewest bits, Σ size_g·|b_g − r_g|, and (4) among those,
     * take bits from the least sensitive groups first and give them to the most sensitive first.
     * Inside each group the columns are stored in ascending original order: the order inside a group
     * does not change the arithmetic and keeps the gathers of x local.
     */
    public static BitPlan plan(double[] sensitivity, int targetBits, int groups, AllocationRule rule, int minBits,
            int maxBits) {
        int n = sensitivity.length;
        checkCommon(n, targetBits, groups);
        if (minBits < 1 || maxBits < minBits || maxBits > 16) {
            throw new IllegalArgumentException("bit range [" + minBits + ", " + maxBits + "] must lie in [1, 16]");
        }
        if (targetBits < minBits) {
            throw new IllegalArgumentException(targetBits + " bits per weight is below the minimum of " + minBits);
        }
        for (int c = 0; c < n; c++) {
            if (!(sensitivity[c] >= 1) || Double.isInfinite(sensitivity[c])) {
                throw new IllegalArgumentException("sensitivity of channel " + c + " is " + sensitivity[c]
                        + "; WCSG sensitivities are I_c + 1, finite and ≥ 1");
            }
        }
        double[] bits = rule.channelBits(sensitivity, targetBits);
        // Most sensitive first; equal sensitivities keep their original order, so the plan is deterministic.
        Integer[] order = IntStream.range(0, n).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer c) -> -sensitivity[c]).thenComparingInt(c -> c));
        int[] start = groupStarts(n, groups);
        int[] sizes = new int[groups];
        int[] rounded = new int[groups];
        int[] permutation = new int[n];
        for (int g = 0; g < groups; g++) {
            sizes[g] = start[g + 1] - start[g];
            double sum = 0;
            int[] members = new int[sizes[g]];
            for (int j = start[g]; j < start[g + 1]; j++) {
                sum += bits[order[j]];
                members[j - start[g]] = order[j];
            }
            rounded[g] = (int) Math.max(minBits, Math.min(maxBits, Math.rint(sum / sizes[g])));
            Arrays.sort(members);
            System.arraycopy(members, 0, permutation, start[g], sizes[g]);
        }
        int[] widths = rebalance(rounded, sizes, (long) targetBits * n, minBits, maxBits);
        return new BitPlan(permutation, start, widths);
    }

    /** No WCSG: the identity permutation, the same near-equal groups, every group at targetBits. */
    public static BitPlan uniform(int n, int targetBits, int groups) {
        checkCommon(n, targetBits, groups);
        int[] widths = new int[groups];
        Arrays.fill(widths, targetBits);
        return new BitPlan(IntStream.range(0, n).toArray(), groupStarts(n, groups), widths);
    }

    private static void checkCommon(int n, int targetBits, int groups) {
        if (n < 1) {
            throw new IllegalArgumentException("a bit plan needs at least one channel");
        }
        if (groups < 1 || groups > n) {
            throw new IllegalArgumentException(groups + " groups for " + n + " channels: need 1 ≤ groups ≤ channels");
        }
        if (targetBits < 1) {
            throw new IllegalArgumentException("target of " + targetBits + " bits per weight must be ≥ 1");
        }
    }

    /** Near-equal groups: sizes ⌊n/G⌋ or ⌈n/G⌉, the larger ones first (given to the most sensitive channels). */
    static int[] groupStarts(int n, int groups) {
        int[] start = new int[groups + 1];
        int base = n / groups;
        int extra = n % groups;
        for (int g = 0; g < groups; g++) {
            start[g + 1] = start[g] + base + (g < extra ? 1 : 0);
        }
        return start;
    }

    /**
     * Exact search (dynamic programming over groups in order) for the widths described in
     * {@link #plan}. State after group g: its width and the total so far, stored as
     * Σ size·(b − minBits) ∈ [0, (maxBits−minBits)·n]. The cost is lexicographic: bits moved, then a
     * small preference term that makes taking from a less sensitive group and giving to a more
     * sensitive group cheaper.
     */
    static int[] rebalance(int[] rounded, int[] sizes, long budget, int minBits, int maxBits) {
        int groups = sizes.length;
        int k = maxBits - minBits + 1;
        long n = 0;
        for (int s : sizes) {
            n += s;
        }
        int span = (int) ((k - 1) * n);
        long target = Math.min(budget - minBits * n, span);
        long prefWeight = (long) k * groups * groups + 1;
        if ((long) groups * k * (span + 1) > (1L << 28)) {
            throw new IllegalArgumentException(groups + " groups of " + k + " widths over " + n
                    + " channels are too many for the exact rebalancing search");
        }
        final long inf = Long.MAX_VALUE;
        // cost[w][t]: best cost with the current group at width minBits + w and offset total t.
        long[][] cost = new long[k][span + 1];
        byte[][][] parent = new byte[groups][k][span + 1];
        for (long[] row : cost) {
            Arrays.fill(row, inf);
        }
        for (int w = 0; w < k; w++) {
            cost[w][w * sizes[0]] = stepCost(0, w + minBits, rounded[0], sizes[0], groups, prefWeight);
        }
        for (int g = 1; g < groups; g++) {
            long[][] next = new long[k][span + 1];
            for (long[] row : next) {
                Arrays.fill(row, inf);
            }
            for (int w = 0; w < k; w++) {
                long step = stepCost(g, w + minBits, rounded[g], sizes[g], groups, prefWeight);
                int add = w * sizes[g];
                // Widths do not increase down the sensitivity order: the previous group's width is ≥ w.
                for (int pw = w; pw < k; pw++) {
                    long[] prev = cost[pw];
                    for (int t = 0; t + add <= span; t++) {
                        if (prev[t] != inf && prev[t] + step < next[w][t + add]) {
                            next[w][t + add] = prev[t] + step;
                            parent[g][w][t + add] = (byte) pw;
                        }
                    }
                }
            }
            cost = next;
        }
        // The largest reachable total not above the budget, then the cheapest way to it.
        for (long t = target; t >= 0; t--) {
            int best = -1;
            for (int w = 0; w < k; w++) {
                if (cost[w][(int) t] != inf && (best < 0 || cost[w][(int) t] < cost[best][(int) t])) {
                    best = w;
                }
            }
            if (best >= 0) {
                int[] widths = new int[groups];
                int total = (int) t;
                int w = best;
                for (int g = groups - 1; g >= 0; g--) {
                    widths[g] = w + minBits;
                    int pw = g > 0 ? parent[g][w][total] : 0;
                    total -= w * sizes[g];
                    w = pw;
                }
                return widths;
            }
        }
        throw new IllegalStateException("no bit allocation at or below the budget");
    }

    private static long stepCost(int g, int width, int rounded, int size, int groups, long prefWeight) {
        int d = width - rounded;
        long moved = (long) size * Math.abs(d);
        // Taking (d < 0) is cheaper the less sensitive the group (larger g); giving the more sensitive (smaller g).
        long pref = d < 0 ? (long) -d * (groups - 1 - g) : (long) d * g;
        return moved * prefWeight + pref;
    }
}
