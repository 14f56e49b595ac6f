package dev.jvq.quant;

/**
 * Exact top-k selection over a matrix of non-negative scores without sorting: a most-significant-
 * digit radix select on the IEEE bits of the scores (for non-negative doubles the raw bits order
 * like the values). Four 16-bit histogram passes find the k-th largest score T; a final pass in
 * row-major order takes every score above T and the first (lowest flat index) ones equal to T.
 * The result is therefore deterministic, already sorted ascending, and costs five streaming passes
 * and 256 KiB of histogram whatever the matrix size (16M-element matrices included).
 */
public final class TopK {

    /** Score of element (row, col); must be finite and ≥ 0. */
    @FunctionalInterface
    public interface Scores {
        double at(int row, int col);
    }

    private TopK() {}

    /** Flat indices (row·cols + col, ascending) of the k largest scores, ties to the lower index. */
    public static int[] largest(int rows, int cols, Scores scores, int k) {
        long total = (long) rows * cols;
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(rows + " x " + cols + " has more elements than int32 flat indices address");
        }
        if (k < 0 || k > total) {
            throw new IllegalArgumentException("k = " + k + " outside 0.." + total);
        }
        if (k == 0) {
            return new int[0];
        }
        long prefix = 0;
        long prefixMask = 0;
        long remaining = k; // how many of the selected still lie at or below the current prefix
        int[] hist = new int[1 << 16];
        for (int shift = 48; shift >= 0; shift -= 16) {
            java.util.Arrays.fill(hist, 0);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    long key = key(scores.at(r, c));
                    if ((key & prefixMask) == prefix) {
                        hist[(int) (key >>> shift) & 0xFFFF]++;
                    }
                }
            }
            long above = 0;
            int digit = 0xFFFF;
            while (above + hist[digit] < remaining) {
                above += hist[digit];
                digit--;
            }
            remaining -= above;
            prefix |= (long) digit << shift;
            prefixMask |= 0xFFFFL << shift;
        }
        long threshold = prefix; // the k-th largest key; `remaining` of the chosen equal it
        int[] out = new int[k];
        int n = 0;
        long equalLeft = remaining;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                long key = key(scores.at(r, c));
                if (key > threshold || (key == threshold && equalLeft-- > 0)) {
                    out[n++] = r * cols + c;
                }
            }
        }
        if (n != k) {
            throw new IllegalStateException("top-k selection found " + n + " of " + k + " (scores changed between passes?)");
        }
        return out;
    }

    private static long key(double v) {
        if (!(v >= 0) || v == Double.POSITIVE_INFINITY) {
            throw new IllegalArgumentException("score " + v + " is not finite and non-negative");
        }
        return Double.doubleToRawLongBits(v + 0.0); // + 0.0 turns -0.0 into +0.0
    }
}
