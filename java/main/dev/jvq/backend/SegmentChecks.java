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
}
