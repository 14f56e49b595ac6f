package dev.jvq.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Fixed-width unsigned codes packed LSB-first into a little-endian byte stream: code i occupies
 * stream bits [i·bits, (i+1)·bits), stream bit p being bit (p mod 8) of byte p / 8. This is the
 * layout {@code jvq_vq_gemv} reads (native/include/jvq.h). Kernels may read a whole 64-bit word at
 * the byte holding a code's first bit, so every packed buffer handed to them is followed by
 * {@link #TAIL_BYTES} zero bytes.
 */
public final class BitPacker {
    /** Zero bytes that must follow a packed stream so word-wide reads stay in bounds. */
    public static final int TAIL_BYTES = 8;
    public static final int MAX_BITS = 16;

    private BitPacker() {}

    /** Bytes holding {@code count} codes of {@code bits} bits, without the tail. */
    public static long packedBytes(long count, int bits) {
        checkBits(bits);
        return Math.addExact(Math.multiplyExact(count, (long) bits), 7) >>> 3;
    }

    /** Bits needed to index {@code k} codewords: ceil(log2 k), at least 1. */
    public static int bitsFor(long k) {
        if (k < 2) {
            throw new IllegalArgumentException("need at least 2 codewords, got " + k);
        }
        return 64 - Long.numberOfLeadingZeros(k - 1);
    }

    static void checkBits(int bits) {
        if (bits < 1 || bits > MAX_BITS) {
            throw new IllegalArgumentException("code width " + bits + " outside 1.." + MAX_BITS);
        }
    }

    /**
     * Packs {@code codes} into {@code dst}, which must hold {@code packedBytes(codes.length, bits)} bytes;
     * any bytes of {@code dst} beyond them are zeroed (so a buffer sized with the tail gets its tail).
     */
    public static void pack(int[] codes, int bits, MemorySegment dst) {
        Writer w = new Writer(dst, bits);
        for (int c : codes) {
            w.write(c);
        }
        w.finish();
    }

    /** Unpacks {@code count} codes. */
    public static int[] unpack(MemorySegment src, int bits, int count) {
        Reader r = new Reader(src, bits, 0);
        int[] out = new int[count];
        for (int i = 0; i < count; i++) {
            out[i] = r.next();
        }
        return out;
    }

    /** Streams codes into a segment, one at a time. */
    public static final class Writer {
        private final MemorySegment dst;
        private final int bits;
        private final int max;
        private long bytePos;
        private long acc;
        private int accBits;

        public Writer(MemorySegment dst, int bits) {
            checkBits(bits);
            this.dst = dst;
            this.bits = bits;
            this.max = (1 << bits) - 1;
        }

        public void write(int code) {
            if (code < 0 || code > max) {
                throw new IllegalArgumentException("code " + code + " does not fit in " + bits + " bits");
            }
            acc |= (long) code << accBits;
            accBits += bits;
            while (accBits >= 8) {
                dst.set(ValueLayout.JAVA_BYTE, bytePos++, (byte) acc);
                acc >>>= 8;
                accBits -= 8;
            }
        }

        /** Flushes the last partial byte and zeroes the rest of the segment. */
        public void finish() {
            if (accBits > 0) {
                dst.set(ValueLayout.JAVA_BYTE, bytePos++, (byte) acc);
                acc = 0;
                accBits = 0;
            }
            if (bytePos < dst.byteSize()) {
                dst.asSlice(bytePos).fill((byte) 0);
            }
        }
    }

    /** Reads codes sequentially from a packed stream, starting at any code index. */
    public static final class Reader {
        private final MemorySegment src;
        private final int bits;
        private final int mask;
        private long bytePos;
        private long acc;
        private int accBits;

        public Reader(MemorySegment src, int bits, long firstCode) {
            checkBits(bits);
            this.src = src;
            this.bits = bits;
            this.mask = (1 << bits) - 1;
            long bit = firstCode * bits;
            this.bytePos = bit >>> 3;
            int skip = (int) (bit & 7);
            if (skip > 0) {
                acc = (src.get(ValueLayout.JAVA_BYTE, bytePos++) & 0xFF) >>> skip;
                accBits = 8 - skip;
            }
        }

        public int next() {
            while (accBits < bits) {
                acc |= (long) (src.get(ValueLayout.JAVA_BYTE, bytePos++) & 0xFF) << accBits;
                accBits += 8;
            }
            int code = (int) (acc & mask);
            acc >>>= bits;
            accBits -= bits;
            return code;
        }
    }
}
