package dev.jvq.backend;

import java.lang.foreign.MemorySegment;

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
}
