package dev.jvq.rsavq;

/**
 * How one linear layer's n input channels are stored by RSAVQ: {@code permutation[j]} is the
 * original column at stored position j; group g holds stored positions
 * [{@code groupStart[g]}, {@code groupStart[g+1]}) (groupStart runs from 0 to n) and every weight
 * of it takes {@code groupBits[g]} bits. The arrays are the plan's own (not copied).
 */
public record BitPlan(int[] permutation, int[] groupStart, int[] groupBits) {
    public BitPlan {
        int n = permutation.length;
        boolean[] seen = new boolean[n];
        for (int p : permutation) {
            if (p < 0 || p >= n || seen[p]) {
                throw new IllegalArgumentException("bit plan permutation is not a permutation of 0.." + (n - 1));
            }
            seen[p] = true;
        }
        if (groupBits.length < 1 || groupStart.length != groupBits.length + 1 || groupStart[0] != 0
                || groupStart[groupBits.length] != n) {
            throw new IllegalArgumentException("bit plan needs groups+1 group starts from 0 to " + n);
        }
        for (int g = 0; g < groupBits.length; g++) {
            if (groupStart[g + 1] <= groupStart[g]) {
                throw new IllegalArgumentException("bit plan group " + g + " is empty");
            }
            if (groupBits[g] < 1) {
                throw new IllegalArgumentException("bit plan group " + g + " has " + groupBits[g] + " bits");
            }
        }
    }

    public int groups() {
        return groupBits.length;
    }

    /** Columns in group g. */
    public int groupSize(int g) {
        return groupStart[g + 1] - groupStart[g];
    }

    /** Σ_g size_g · b_g: index bits per output row. */
    public long totalBits() {
        long t = 0;
        for (int g = 0; g < groupBits.length; g++) {
            t += (long) groupSize(g) * groupBits[g];
        }
        return t;
    }

    /** Mean bits per weight over the n columns (codebooks not counted). */
    public double averageBits() {
        return (double) totalBits() / permutation.length;
    }
}
