package dev.jvq.rsavq;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * WCSG bit allocation (RSAVQ.md): bits per channel by an {@link AllocationRule}, channels sorted by
 * sensitivity (descending) into near-equal groups, one bit width per group, rebalanced to the layer's
 * budget of targetBits·n index bits per output row.
 *
 * <p>When the budget cannot be met exactly: the widths are rebalanced by whole group steps that keep
 * the sensitivity order, so the total ends at or below the budget by less than one group's size.
 * With equal group sizes (n divisible by the group count) that is always exact. With sizes s+1 and s
 * it may fall short: for n = 65 in 4 groups (17, 16, 16, 16), 16·Σb + b_0 = 65·B forces b_0 = B, and
 * then the non-increasing order forces every group to B — an exact budget would undo WCSG, so the
 * plan keeps the allocation and stays under the budget instead (by at most s/n bits per weight).
 * targetBits above maxBits gives every group maxBits; below minBits is rejected.
 */
public final class BitAllocation {
    private BitAllocation() {
    }

    /**
     * The WCSG plan. Group g's width starts at round(mean b_c over its channels) clamped to
     * [minBits, maxBits]; then {@link #rebalance} takes bits from the least sensitive groups first and
     * gives them to the most sensitive first until the total meets the budget, or is the closest
     * total below it that such steps reach. Inside each group the columns are stored in ascending
     * original order: the order inside a group does not change the arithmetic and keeps the gathers
     * of x local.
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
     * The rebalancing of {@link #plan}, one group step (size_g bits) at a time, never breaking the
     * order b_0 ≥ b_1 ≥ … of the sensitivity-sorted groups: while over the budget, take a bit from the
     * least sensitive group that can give one (above minBits and above its successor); then, while a
     * group's step still fits under the budget, give a bit to the most sensitive such group (below
     * maxBits and below its predecessor). The result is at or under the budget by less than one group
     * step. With groups of equal size every total and the budget are multiples of the size, so the
     * budget is met exactly; with sizes s and s+1 it can fall short by up to s bits per output row,
     * because an exact total would force the groups back to uniform widths (see the class comment).
     */
    static int[] rebalance(int[] rounded, int[] sizes, long budget, int minBits, int maxBits) {
        int groups = sizes.length;
        int[] b = rounded.clone();
        long total = 0;
        for (int g = 0; g < groups; g++) {
            total += (long) sizes[g] * b[g];
        }
        while (total > budget) {
            int g = groups - 1;
            while (g >= 0 && !(b[g] > minBits && (g == groups - 1 || b[g] > b[g + 1]))) {
                g--;
            }
            if (g < 0) {
                throw new IllegalStateException("every group is at " + minBits + " bits and still over the budget");
            }
            b[g]--;
            total -= sizes[g];
        }
        boolean gave = true;
        while (gave) {
            gave = false;
            for (int g = 0; g < groups; g++) {
                if (b[g] < maxBits && (g == 0 || b[g] < b[g - 1]) && total + sizes[g] <= budget) {
                    b[g]++;
                    total += sizes[g];
                    gave = true;
                    break;
                }
            }
        }
        return b;
    }
}
