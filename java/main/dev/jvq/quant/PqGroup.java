package dev.jvq.quant;

import java.lang.foreign.MemorySegment;

/**
 * One sensitivity group of an {@link RsavqLinear}: the stored columns [colStart, colStart+colCount),
 * coded with {@code bits}-bit product-quantisation codes and a codebook of its own.
 *
 * @param codebook {@code subspaces} tables of {@code k} codewords of {@code subLength} fp16 values, one
 *     after the other: {@code Codebook(name, subspaces·k, subLength)}; table s is entries [s·k, (s+1)·k)
 * @param k codewords per subspace table (2 ≤ k ≤ 2^bits)
 * @param codes colCount·T codes (T = ceil(rows / subLength)), column-major: stored column j, sub-vector t
 *     is code (j − colStart)·T + t; packed LSB-first (BitPacker) and followed by
 *     {@link BitPacker#TAIL_BYTES} zero bytes
 */
public record PqGroup(int colStart, int colCount, int bits, int k, Codebook codebook, MemorySegment codes) {

    public PqGroup {
        BitPacker.checkBits(bits);
        if (colStart < 0 || colCount < 1) {
            throw new IllegalArgumentException("PQ group at column " + colStart + " with " + colCount + " columns");
        }
        if (k < 2 || (bits < 31 && k > (1 << bits))) {
            throw new IllegalArgumentException("PQ group: " + k + " codewords for " + bits + "-bit codes");
        }
        if (codebook.k() % k != 0) {
            throw new IllegalArgumentException("PQ group: codebook of " + codebook.k() + " entries is not a whole number of "
                    + k + "-entry tables");
        }
    }

    /** Subspace tables in the codebook. */
    public int subspaces() {
        return codebook.k() / k;
    }

    /** Packed code bytes of this group for a layer of {@code rows} rows, without the tail. */
    public long codeBytes(long rows) {
        return BitPacker.packedBytes((long) colCount * subVectors(rows, codebook.b()), bits);
    }

    /** T = ceil(rows / subLength): sub-vectors down one column. */
    public static long subVectors(long rows, int subLength) {
        return (rows + subLength - 1) / subLength;
    }
}
