package dev.jvq.quant;

/**
 * Exact top-k selection over a matrix of non-negative scores without sorting: a most-significant-
 * digit radix select on the IEEE bits of the scores (for non-negative doubles the raw bits order
 * like the values). Four 16-bit histogram passes find the k-th largest score T; a final pass in
 * row-major order takes every score above T and the first (lowest flat index) ones equal to T.
 * The result is therefore deterministic and already sorted ascending; it costs one pass computing
 * the keys (8 bytes per element), five streaming passes over them and a 256 KiB histogram — linear
 * time for 16M-element matrices, where a full sort would be n log n.
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
        long[] keys = new long[(int) total];
        for (int r = 0, i = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                keys[i++] = key(scores.at(r, c));
            }
        }
        return largest(keys, k);
    }

    /**
     * Indices (ascending) of the k largest keys, ties to the lower index. Keys are the raw bits of
     * non-negative doubles ({@link #key}), which order like the values.
     */
    public static int[] largest(long[] keys, int k) {
        if (k < 0 || k > keys.length) {
            throw new IllegalArgumentException("k = " + k + " outside 0.." + keys.length);
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
            for (long key : keys) {
                if ((key & prefixMask) == prefix) {
                    hist[(int) (key >>> shift) & 0xFFFF]++;
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
        for (int i = 0; i < keys.length; i++) {
            long key = keys[i];
            if (key > threshold || (key == threshold && equalLeft-- > 0)) {
                out[n++] = i;
            }
        }
        if (n != k) {
            throw new IllegalStateException("top-k selection found " + n + " of " + k);
        }
        return out;
    }

    /** The sortable key of a score: its IEEE bits (finite, non-negative scores only). */
    public static long key(double v) {
        if (!(v >= 0) || v == Double.POSITIVE_INFINITY) {
            throw new IllegalArgumentException("score " + v + " is not finite and non-negative");
        }
        return Double.doubleToRawLongBits(v + 0.0); // + 0.0 turns -0.0 into +0.0
    }
}
