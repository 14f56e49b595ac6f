package dev.jvq.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Test helper: RSAVQ layers with random codes, codebooks, permutation and row scales. */
public final class RsavqLayers {
    private RsavqLayers() {}

    /**
     * A layer of rows x cols whose stored columns are cut into groups of {@code groupCols[g]} columns with
     * {@code bits[g]}-bit codes; each group's k is 2^bits, or fewer (not a power of two) above 10 bits.
     * A group named in {@code sharedName} (non-null) uses a shared codebook of that name.
     */
    public static RsavqLinear random(Random rnd, Arena arena, String name, int rows, int cols, int subLength, int subspaces,
            int[] groupCols, int[] bits, boolean scales, String sharedName) {
        MemorySegment perm = arena.allocate(4L * cols, 4);
        int[] p = new int[cols];
        for (int j = 0; j < cols; j++) {
            p[j] = j;
        }
        for (int j = cols - 1; j > 0; j--) {
            int i = rnd.nextInt(j + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        for (int j = 0; j < cols; j++) {
            perm.setAtIndex(LittleEndian.I32, j, p[j]);
        }
        long t = PqGroup.subVectors(rows, subLength);
        List<PqGroup> groups = new ArrayList<>();
        int start = 0;
        for (int g = 0; g < groupCols.length; g++) {
            int k = bits[g] <= 10 ? 1 << bits[g] : (1 << bits[g]) - 1 - rnd.nextInt(1 << (bits[g] - 2));
            k = Math.max(k, 2);
            MemorySegment cb = arena.allocate(2L * subspaces * k * subLength, 2);
            for (long e = 0; e < (long) subspaces * k * subLength; e++) {
                cb.setAtIndex(LittleEndian.I16, e, Float.floatToFloat16((float) rnd.nextGaussian()));
            }
            int[] codes = new int[(int) (groupCols[g] * t)];
            for (int i = 0; i < codes.length; i++) {
                codes[i] = rnd.nextInt(k);
            }
            MemorySegment packed = arena.allocate(BitPacker.packedBytes(codes.length, bits[g]) + BitPacker.TAIL_BYTES, 8);
            BitPacker.pack(codes, bits[g], packed);
            Codebook book = new Codebook(sharedName, subspaces * k, subLength, cb);
            groups.add(new PqGroup(start, groupCols[g], bits[g], k, book, packed));
            start += groupCols[g];
        }
        MemorySegment s = null;
        if (scales) {
            s = arena.allocate(2L * rows, 2);
            for (int i = 0; i < rows; i++) {
                s.setAtIndex(LittleEndian.I16, i, Float.floatToFloat16(0.5f + rnd.nextFloat()));
            }
        }
        return new RsavqLinear(name, rows, cols, subLength, subspaces, perm, groups, s);
    }

    /** Column counts of n groups of different sizes that add up to cols. */
    public static int[] split(int cols, int n) {
        int[] c = new int[n];
        int left = cols;
        for (int g = 0; g < n - 1; g++) {
            c[g] = Math.max(1, cols * (g + 1) / (n * (n + 1) / 2));
            left -= c[g];
        }
        c[n - 1] = left;
        return c;
    }
}
