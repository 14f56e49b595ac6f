package dev.jvq.rsavq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.JvqException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BitAllocationTest {

    /** I_c = 1 + e^(3z): heavy-tailed like real sensitivities, all ≥ 1. */
    private static double[] sensitivities(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] s = new double[n];
        for (int c = 0; c < n; c++) {
            s[c] = 1 + Math.exp(3 * r.nextDouble(-1.5, 1.5));
        }
        return s;
    }

    /** The structural promises of every plan. */
    private static void checkShape(BitPlan p, double[] s, int groups) {
        int n = s.length;
        boolean[] seen = new boolean[n];
        for (int c : p.permutation()) {
            assertTrue(!seen[c], "column " + c + " twice");
            seen[c] = true;
        }
        assertEquals(groups, p.groups());
        assertEquals(groups + 1, p.groupStart().length);
        assertEquals(0, p.groupStart()[0]);
        assertEquals(n, p.groupStart()[groups]);
        int min = Integer.MAX_VALUE;
        int max = 0;
        for (int g = 0; g < groups; g++) {
            min = Math.min(min, p.groupSize(g));
            max = Math.max(max, p.groupSize(g));
            for (int j = p.groupStart()[g] + 1; j < p.groupStart()[g + 1]; j++) {
                assertTrue(p.permutation()[j - 1] < p.permutation()[j], "ascending original order inside group " + g);
            }
            if (g > 0) {
                // Every column of a group is at least as sensitive as every column of the next one.
                double leastOfPrev = Double.MAX_VALUE;
                for (int j = p.groupStart()[g - 1]; j < p.groupStart()[g]; j++) {
                    leastOfPrev = Math.min(leastOfPrev, s[p.permutation()[j]]);
                }
                for (int j = p.groupStart()[g]; j < p.groupStart()[g + 1]; j++) {
                    assertTrue(s[p.permutation()[j]] <= leastOfPrev, "group " + g + " sorted by sensitivity");
                }
                assertTrue(p.groupBits()[g] <= p.groupBits()[g - 1], "widths do not increase down the order");
            }
        }
        assertTrue(max - min <= 1, "near-equal groups");
    }

    @Test
    void meetsTheBudgetExactly() {
        for (AllocationRule rule : AllocationRule.values()) {
            for (int n : new int[] {64, 172, 65}) {
                for (int b = 2; b <= 4; b++) {
                    double[] s = sensitivities(n, n * 10L + b);
                    BitPlan p = BitAllocation.plan(s, b, 4, rule, 1, 8);
                    checkShape(p, s, 4);
                    if (n % 4 == 0) {
                        assertEquals((long) b * n, p.totalBits(), rule + " n=" + n + " B=" + b);
                        assertEquals(b, p.averageBits(), 0.0);
                    } else {
                        // 17, 16, 16, 16 columns: at or under the budget by less than one group step.
                        long shortBy = (long) b * n - p.totalBits();
                        assertTrue(shortBy >= 0 && shortBy < 17, rule + " n=" + n + " B=" + b + " short by " + shortBy);
                    }
                    for (int w : p.groupBits()) {
                        assertTrue(w >= 1 && w <= 8);
                    }
                    assertTrue(p.groupBits()[0] > p.groupBits()[3], rule + " n=" + n + " B=" + b
                            + ": spread sensitivities give unequal widths " + java.util.Arrays.toString(p.groupBits()));
                }
            }
        }
    }

    /** Rebalancing from random non-increasing widths: order kept, budget met or undershot by less than a step. */
    @Test
    void rebalancingKeepsTheOrderAndReachesTheBudget() {
        SplittableRandom r = new SplittableRandom(11);
        for (int[] sizes : new int[][] {{17, 16, 16, 16}, {16, 16, 16, 16}, {3, 3, 2, 2, 2}}) {
            int n = 0;
            for (int size : sizes) {
                n += size;
            }
            for (int trial = 0; trial < 300; trial++) {
                int[] rounded = new int[sizes.length];
                int top = 1 + r.nextInt(6);
                for (int g = 0; g < sizes.length; g++) {
                    rounded[g] = 1 + r.nextInt(top);
                    top = rounded[g];
                }
                int target = 1 + r.nextInt(6);
                long budget = (long) target * n;
                int[] got = BitAllocation.rebalance(rounded, sizes, budget, 1, 6);
                long total = 0;
                for (int g = 0; g < sizes.length; g++) {
                    total += (long) sizes[g] * got[g];
                    assertTrue(got[g] >= 1 && got[g] <= 6);
                    assertTrue(g == 0 || got[g] <= got[g - 1], "non-increasing " + java.util.Arrays.toString(got));
                }
                assertTrue(total <= budget, "at or under the budget");
                // No group can take one more step without breaking the order or the budget.
                for (int g = 0; g < sizes.length; g++) {
                    boolean admissible = got[g] < 6 && (g == 0 || got[g] < got[g - 1]);
                    assertTrue(!admissible || total + sizes[g] > budget, "group " + g + " could still take a bit");
                }
                if (sizes[0] == sizes[sizes.length - 1]) {
                    assertEquals(budget, total, "equal groups meet the budget exactly");
                }
                if (total == budget) {
                    long already = 0;
                    for (int g = 0; g < sizes.length; g++) {
                        already += (long) sizes[g] * rounded[g];
                    }
                    if (already == budget) {
                        assertArrayEquals(rounded, got, "nothing to move");
                    }
                }
            }
        }
    }

    @Test
    void paperRuleRoundsClampsAndRebalancesAsDocumented() {
        // log2 I = 4, 2, 1, 0; Σ = 7; B·n = 12: b = round(48/7, 24/7, 12/7, 0) = 7, 3, 2, 0 → clamped 7, 3, 2, 1
        // (13 bits); one bit comes back from the least sensitive group that can give one (the third).
        BitPlan p = BitAllocation.plan(new double[] {2, 16, 1, 4}, 3, 4, AllocationRule.PAPER, 1, 8);
        assertArrayEquals(new int[] {1, 3, 0, 2}, p.permutation());
        assertArrayEquals(new int[] {7, 3, 1, 1}, p.groupBits());
        // Clamped at the top: the most sensitive pair wants 7 bits, gets 3; the rest want 0, get 1 (12 < 16 bits);
        // the 4 missing bits go to the most sensitive group with room.
        double huge = Math.pow(2, 30);
        BitPlan c = BitAllocation.plan(new double[] {2, huge, 2, 2, huge, 2, 2, 2}, 2, 4, AllocationRule.PAPER, 1, 3);
        assertArrayEquals(new int[] {1, 4, 0, 2, 3, 5, 6, 7}, c.permutation());
        assertArrayEquals(new int[] {3, 3, 1, 1}, c.groupBits());
        // All channels at the +1 floor: Σ log2 I = 0, everybody gets B.
        BitPlan flat = BitAllocation.plan(new double[] {1, 1, 1, 1, 1}, 3, 2, AllocationRule.PAPER, 1, 8);
        assertArrayEquals(new int[] {3, 3}, flat.groupBits());
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, flat.permutation());
    }

    @Test
    void waterfillFollowsHalfTheLogSensitivity() {
        // log2 I = 4, 2, 1, 0, mean 1.75; B = 3: 4.125, 3.125, 2.625, 2.125 → 4, 3, 3, 2 (12 bits, exact).
        BitPlan p = BitAllocation.plan(new double[] {1, 16, 2, 4}, 3, 4, AllocationRule.WATERFILL, 1, 8);
        assertArrayEquals(new int[] {1, 3, 2, 0}, p.permutation());
        assertArrayEquals(new int[] {4, 3, 3, 2}, p.groupBits());
    }

    @Test
    void budgetAboveTheRangeGivesTheClosestTotalBelowAndBelowTheRangeIsRejected() {
        double[] s = sensitivities(65, 5);
        BitPlan p = BitAllocation.plan(s, 4, 4, AllocationRule.PAPER, 1, 3);
        assertArrayEquals(new int[] {3, 3, 3, 3}, p.groupBits());
        assertEquals(3 * 65, p.totalBits());
        assertThrows(IllegalArgumentException.class, () -> BitAllocation.plan(s, 1, 4, AllocationRule.PAPER, 2, 4));
    }

    @Test
    void uniformPlan() {
        BitPlan p = BitAllocation.uniform(65, 3, 4);
        assertArrayEquals(new int[] {0, 17, 33, 49, 65}, p.groupStart());
        assertArrayEquals(new int[] {3, 3, 3, 3}, p.groupBits());
        for (int j = 0; j < 65; j++) {
            assertEquals(j, p.permutation()[j]);
        }
        assertEquals(3.0, p.averageBits(), 0.0);
    }

    @Test
    void rejectsBadArguments() {
        double[] s = sensitivities(10, 1);
        assertThrows(IllegalArgumentException.class, () -> BitAllocation.plan(s, 2, 11, AllocationRule.PAPER, 1, 8));
        assertThrows(IllegalArgumentException.class, () -> BitAllocation.plan(s, 2, 0, AllocationRule.PAPER, 1, 8));
        assertThrows(IllegalArgumentException.class, () -> BitAllocation.plan(s, 0, 2, AllocationRule.PAPER, 1, 8));
        assertThrows(IllegalArgumentException.class, () -> BitAllocation.plan(s, 2, 2, AllocationRule.PAPER, 3, 2));
        double[] bad = s.clone();
        bad[3] = 0.5;
        assertThrows(IllegalArgumentException.class, () -> BitAllocation.plan(bad, 2, 2, AllocationRule.PAPER, 1, 8));
        bad[3] = Double.NaN;
        assertThrows(IllegalArgumentException.class, () -> BitAllocation.plan(bad, 2, 2, AllocationRule.WATERFILL, 1, 8));
        assertThrows(IllegalArgumentException.class, () -> new BitPlan(new int[] {0, 0}, new int[] {0, 2}, new int[] {2}));
        assertThrows(IllegalArgumentException.class, () -> new BitPlan(new int[] {1, 0}, new int[] {0, 1}, new int[] {2}));
    }

    @Test
    void parsesRuleNames() {
        assertEquals(AllocationRule.PAPER, AllocationRule.parse("paper"));
        assertEquals(AllocationRule.WATERFILL, AllocationRule.parse("WaterFill"));
        JvqException e = assertThrows(JvqException.class, () -> AllocationRule.parse("greedy"));
        assertEquals("--allocation greedy: unknown rule; choose one of paper, waterfill", e.getMessage());
        assertThrows(JvqException.class, () -> AllocationRule.parse(null));
    }
}
