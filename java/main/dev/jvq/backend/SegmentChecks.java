package dev.jvq.backend;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Argument checks shared by the CPU and GPU backends, so a caller's mistake is the same
 * {@link IllegalArgumentException} whichever backend runs: sizes are
 * non-negative and their byte products do not overflow, segments are off-heap and large enough,
 * outputs are writable, and {@link MemorySegment#NULL} stands for an optional pointer left out.
 */
final class SegmentChecks {

    private SegmentChecks() {}

    static void dims(Object... nameValue) {
        for (int i = 0; i < nameValue.length; i += 2) {
            long v = (Long) nameValue[i + 1];
            if (v < 0) {
                throw new IllegalArgumentException(nameValue[i] + " must be >= 0: " + v);
            }
        }
    }

    static long mul(long a, long b) {
        return Math.multiplyExact(a, b);
    }

    static long mul(long a, long b, long c) {
        return Math.multiplyExact(Math.multiplyExact(a, b), c);
    }

    static boolean isNull(MemorySegment s) {
        return s != null && s.equals(MemorySegment.NULL);
    }

    static void in(MemorySegment s, String what, long bytes) {
        if (s == null) {
            throw new IllegalArgumentException(what + ": null; pass MemorySegment.NULL for a NULL pointer");
        }
        if (bytes == 0) {
            return;
        }
        if (s.equals(MemorySegment.NULL)) {
            throw new IllegalArgumentException(what + ": NULL where " + bytes + " bytes are needed");
        }
        if (!s.isNative()) {
            throw new IllegalArgumentException(what + ": a heap segment; native kernels need off-heap memory");
        }
        if (s.byteSize() < bytes) {
            throw new IllegalArgumentException(what + ": " + s.byteSize() + " bytes but " + bytes + " are needed");
        }
    }

    static void out(MemorySegment s, String what, long bytes) {
        in(s, what, bytes);
        if (s.isReadOnly()) {
            throw new IllegalArgumentException(what + ": read-only segment, but the kernel writes into it");
        }
    }

    static void optionalIn(MemorySegment s, String what, long bytes) {
        if (!isNull(s)) {
            in(s, what, bytes);
        }
    }

    static void optionalOut(MemorySegment s, String what, long bytes) {
        if (!isNull(s)) {
            out(s, what, bytes);
        }
    }

    /** Bytes of a VQ code stream of {@code vectors} codes at {@code bits} bits, with its 8-byte padding. */
    static long codeStreamBytes(long vectors, int bits) {
        return Math.addExact(Math.ceilDiv(Math.multiplyExact(vectors, (long) bits), 8L), 8L);
    }

    /** Sorted sparse residuals: nnz int32 flat indices and nnz f16 values. */
    static void sparse(MemorySegment flatIdx, MemorySegment val, long nnz) {
        if (nnz > 0) {
            in(flatIdx, "flatIdx", mul(nnz, 4));
            in(val, "val", mul(nnz, 2));
        }
    }

    /** The checks of a HAS-VQ layout of rows x cols (jvq.h), shared by vqGemv and vqDequantRows. */
    static void vqLayout(MemorySegment codes, int bits, MemorySegment codebook, long k, long b,
            MemorySegment rowScale, MemorySegment flatIdx, MemorySegment val, long nnz, long rows, long cols) {
        dims("k", k, "b", b, "rows", rows, "cols", cols, "nnz", nnz);
        if (bits < 1 || bits > 24) {
            throw new IllegalArgumentException("VQ code width must be 1..24 bits: " + bits);
        }
        if (k == 0 || b == 0) {
            throw new IllegalArgumentException("VQ codebook needs k >= 1 codewords of length b >= 1 (k=" + k
                    + ", b=" + b + ")");
        }
        if (mul(rows, cols, 1) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("VQ layer of " + rows + " x " + cols
                    + " exceeds the int32 flat index of its sparse residuals");
        }
        in(codes, "codes", codeStreamBytes(Math.ceilDiv(mul(rows, cols, 1), b), bits));
        in(codebook, "codebook", mul(k, b, 2));
        optionalIn(rowScale, "rowScale", mul(rows, 2));
        sparse(flatIdx, val, nnz);
    }

    /**
     * The checks of an RSAVQ (PQ) layout of rows x cols (jvq.h, jvq_pq_gemv), done once when its
     * {@link PqLayout} is built: every group's codes and codebook are sized, the columns tiled and the
     * permutation's entries in range.
     */
    static void pqLayout(long rows, long cols, int subLength, int subspaces, MemorySegment permutation, int[] colStart,
            int[] codeBits, int[] cbK, MemorySegment[] codes, MemorySegment[] codebooks, MemorySegment rowScale) {
        dims("rows", rows, "cols", cols);
        if (cols < 1 || cols > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("PQ layout: " + cols + " columns, needs 1.." + Integer.MAX_VALUE);
        }
        if (subLength < 1 || subspaces < 1) {
            throw new IllegalArgumentException("PQ layout: sub-vector length " + subLength + ", subspaces " + subspaces
                    + " (both must be >= 1)");
        }
        int groups = codeBits.length;
        if (groups < 1 || colStart.length != groups + 1 || cbK.length != groups || codes.length != groups
                || codebooks.length != groups) {
            throw new IllegalArgumentException("PQ layout: " + groups + " groups but " + colStart.length
                    + " column starts, " + cbK.length + " codebook sizes, " + codes.length + " code and "
                    + codebooks.length + " codebook segments");
        }
        if (colStart[0] != 0 || colStart[groups] != cols) {
            throw new IllegalArgumentException("PQ layout: groups cover columns " + colStart[0] + ".." + colStart[groups]
                    + ", not 0.." + cols);
        }
        long t = Math.ceilDiv(rows, subLength);
        for (int g = 0; g < groups; g++) {
            if (colStart[g + 1] <= colStart[g]) {
                throw new IllegalArgumentException("PQ layout: group " + g + " column starts not ascending ("
                        + colStart[g] + ", " + colStart[g + 1] + ")");
            }
            if (codeBits[g] < 1 || codeBits[g] > 24) {
                throw new IllegalArgumentException("PQ layout: group " + g + " code width must be 1..24 bits: "
                        + codeBits[g]);
            }
            if (cbK[g] < 1) {
                throw new IllegalArgumentException("PQ layout: group " + g + " has " + cbK[g] + " codewords per table");
            }
            if (mul(cbK[g], subspaces) > (1L << 32) / subLength) {
                throw new IllegalArgumentException("PQ layout: group " + g + " codebook of " + subspaces + " x "
                        + cbK[g] + " x " + subLength + " values is too large");
            }
            in(codes[g], "group " + g + " codes", codeStreamBytes(mul(colStart[g + 1] - colStart[g], t), codeBits[g]));
            in(codebooks[g], "group " + g + " codebook", mul(mul(cbK[g], subspaces), subLength, 2));
        }
        in(permutation, "permutation", mul(cols, 4));
        for (long j = 0; j < cols; j++) {
            int p = permutation.getAtIndex(ValueLayout.JAVA_INT, j);
            if (p < 0 || p >= cols) {
                throw new IllegalArgumentException("PQ layout: permutation entry " + j + " is " + p + ", outside 0.."
                        + (cols - 1));
            }
        }
        optionalIn(rowScale, "rowScale", mul(rows, 2));
    }
}
